/* cmd_model.c — siyu model fit|show|validate: member predictions from the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "cli/cli.h"
#include "models/models.h"

static int print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    puts(s);
    free(s);
    json_decref(v);
    return 0;
}

static void print_validation(json_t *v)
{
    json_t *t = json_object_get(v, "total");
    printf("holdout %s .. %s (%s), customers %lld\n",
           json_string_value(json_object_get(v, "cal_end")),
           json_string_value(json_object_get(v, "holdout_end")),
           json_string_value(json_object_get(v, "unit")),
           (long long)json_integer_value(json_object_get(t, "customers")));
    printf("%-22s %10s %12s %12s\n", "calibration purchases", "customers", "actual", "predicted");
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(v, "by_calibration_purchases"), i, row)
        printf("%-22s %10lld %12.1f %12.1f\n",
               json_string_value(json_object_get(row, "calibration_purchases")),
               (long long)json_integer_value(json_object_get(row, "customers")),
               json_real_value(json_object_get(row, "actual")),
               json_real_value(json_object_get(row, "predicted")));
    printf("%-22s %10lld %12.1f %12.1f\n", "total",
           (long long)json_integer_value(json_object_get(t, "customers")),
           json_real_value(json_object_get(t, "actual")),
           json_real_value(json_object_get(t, "predicted")));
}

int cmd_model(int argc, char **argv)
{
    const char *db = NULL, *unit = NULL, *cal_end = NULL, *holdout_end = NULL, *threshold = NULL;
    bool as_json = false;
    cli_opt opts[] = {
        {"--db", true, &db, NULL, "PATH  the store (default: $SIYU_DB)"},
        {"--unit", true, &unit, NULL, "days|weeks  the time unit of the fit (default: days)"},
        {"--cal-end", true, &cal_end, NULL,
         "DATE  last day of the calibration period, YYYY-MM-DD (default: today; validate: "
         "required)"},
        {"--holdout-end", true, &holdout_end, NULL,
         "DATE  validate: last day of the holdout, YYYY-MM-DD (required)"},
        {"--churn-threshold", true, &threshold, NULL,
         "P  churn probability counted as churned, 0 to 1 (default: 0.5)"},
        {"--json", false, NULL, &as_json,
         "validate: print JSON (default: a table; fit and show always print JSON)"},
        {0}};
    const char *pos[1];
    int np, rc = cli_parse("model", argc, argv, 2, opts, pos, 1, &np);
    if (rc) return rc;
    if (np != 1 || (strcmp(pos[0], "fit") && strcmp(pos[0], "show") && strcmp(pos[0], "validate")))
        return cli_fail("model", EXIT_USAGE, "expected fit, show or validate");
    if (unit && strcmp(unit, "days") && strcmp(unit, "weeks"))
        return cli_fail("model", EXIT_USAGE, "--unit: expected days or weeks");
    double unit_days = unit && strcmp(unit, "weeks") == 0 ? 7 : 1;
    int64_t now = clock_now();
    model_options o;
    model_options_init(&o, now);
    o.unit_days = unit_days;
    if (cal_end && date_parse(cal_end, &o.cal_end_day))
        return cli_fail("model", EXIT_USAGE, "--cal-end: expected YYYY-MM-DD");
    if (threshold) {
        char *end;
        o.churn_threshold = strtod(threshold, &end);
        if (*end || o.churn_threshold < 0 || o.churn_threshold > 1)
            return cli_fail("model", EXIT_USAGE, "--churn-threshold: expected 0 to 1");
    }
    int32_t holdout = 0;
    if (strcmp(pos[0], "validate") == 0) {
        if (!cal_end || !holdout_end || date_parse(holdout_end, &holdout))
            return cli_fail("model", EXIT_USAGE,
                            "validate needs --cal-end YYYY-MM-DD and --holdout-end YYYY-MM-DD");
    }
    store_t *st;
    if ((rc = cli_open_store("model", cli_db(db), false, &st))) return rc;
    store_conn *c;
    siyu_err e;
    siyu_err_init(&e);
    json_t *out = NULL;
    rc = store_conn_open(st, &c, &e);
    bool progress = strcmp(pos[0], "show") != 0 && cli_progress_wanted();
    if (progress) /* fitting reads every member's purchases: seconds on a large chain */
        fprintf(stderr, "model: %s...", strcmp(pos[0], "fit") == 0 ? "fitting" : "validating");
    if (!rc) {
        if (strcmp(pos[0], "fit") == 0)
            rc = models_fit(c, &o, now, &out, &e) < 0;
        else if (strcmp(pos[0], "show") == 0)
            rc = models_current(c, &out, &e) < 0;
        else
            rc = models_validate(c, o.cal_end_day, holdout, unit_days, &out, &e) < 0;
        store_conn_close(c);
    }
    if (progress) fprintf(stderr, "\r\033[K");
    store_close(st);
    if (rc) {
        cli_fail("model", 1, "%s", e.message);
        siyu_err_clear(&e);
        return 1;
    }
    if (strcmp(pos[0], "validate") == 0 && !as_json) {
        print_validation(out);
        json_decref(out);
        return 0;
    }
    return print_json(out);
}
