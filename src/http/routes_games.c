/* routes_games.c — HTTP handlers for the games (src/fission): thin adapters from the
 * path, query and body to games.h. The route table is in routes.c. */
#include "fission/games.h"
#include "http/router.h"

int h_campaigns_create(http_req *r, siyu_err *e);
int h_campaigns_list(http_req *r, siyu_err *e);
int h_campaigns_get(http_req *r, siyu_err *e);
int h_campaigns_report(http_req *r, siyu_err *e);
int h_campaigns_play(http_req *r, siyu_err *e);
int h_campaigns_grab(http_req *r, siyu_err *e);

HTTP_BODY_CALL(h_campaigns_create, games_campaign_create)
HTTP_LIST_CALL(h_campaigns_list, games_campaign_list)
HTTP_ID_CALL(h_campaigns_get, games_campaign_get)
HTTP_ID_CALL(h_campaigns_report, games_report)
HTTP_ID_BODY_CALL(h_campaigns_play, games_play)
HTTP_ID_BODY_CALL(h_campaigns_grab, games_grab)
