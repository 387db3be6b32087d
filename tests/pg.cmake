# The tests that run on PostgreSQL too: each again as pg_NAME, with SIYU_TEST_DB set to the
# server SIYU_TEST_PG_URL names (the test makes its own fresh database there, see
# tests/check/pgtest.h). Without SIYU_TEST_PG_URL they are skipped; scripts/test.sh starts a
# throwaway PostgreSQL 15 and sets it.
#
# Not here, by nature: unit_store_backup (SQLite's online backup API and file bytes; PostgreSQL
# is copied with pg_dump, docs/privacy.md), segment_property (its oracle is its own in-memory
# SQLite database, not the store), and the parsers, generators and maths that touch no store.
# Not yet: unit_domain_merge_follow and unit_fission, which tamper with the store through the
# sqlite3 API to prove `siyu check` catches it (their tampering would need storeread.h's way).
function(siyu_pg_test name target)
  add_test(NAME pg_${name}
           COMMAND sh -c "[ -n \"$SIYU_TEST_PG_URL\" ] || exit 77; SIYU_TEST_DB=$SIYU_TEST_PG_URL exec \"$@\""
                   sh $<TARGET_FILE:${target}> ${ARGN})
  # as the SQLite runs have it (the journeys test checks the docs' examples)
  set_tests_properties(pg_${name} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180
                       ENVIRONMENT "SIYU_DOCS=${PROJECT_SOURCE_DIR}/docs")
endfunction()

# unit tests on a store
siyu_pg_test(unit_store test_store)
foreach(t members orders events partitions memo)
  siyu_pg_test(unit_domain_${t} test_${t})
endforeach()
siyu_pg_test(unit_loyalty test_loyalty_unit)
siyu_pg_test(unit_models test_models)
siyu_pg_test(unit_import test_import)
siyu_pg_test(unit_import_stores test_import_stores)
siyu_pg_test(unit_community test_community_unit)
siyu_pg_test(unit_group_view test_group_view)
siyu_pg_test(unit_domain_scope test_scope)
siyu_pg_test(unit_guides test_guides_unit)
siyu_pg_test(unit_jobs test_jobs)
siyu_pg_test(unit_store_sticky test_store_sticky)
# the reports against plain SQL over the store, on PostgreSQL too (sqlref.h reads either)
siyu_pg_test(reports_hand test_reports_hand)
siyu_pg_test(reports_generated test_reports_generated)
# fault injection is store.c's, around either driver: the write paths fail cleanly on both
siyu_pg_test(unit_writer_faults test_faults)
siyu_pg_test(unit_pipeline_faults test_pipeline_faults)
# end-to-end: the real siyu serve on a PostgreSQL database
foreach(t kill9 api init segments_e2e loyalty journeys messaging transport authz writer readyz numbers games
          rights guides audit conventions ops contract groups session transfers fission
          member_cache)
  siyu_pg_test(e2e_${t} test_${t} $<TARGET_FILE:siyu>)
endforeach()
# the command line on a PostgreSQL store: init, imports, export, segment count, check, tokens, KPI
siyu_pg_test(cli test_cli $<TARGET_FILE:siyu> ${PROJECT_SOURCE_DIR})
# several nodes on one store: views follow each other's commits, jobs run on one, kill -9
siyu_pg_test(e2e_nodes test_nodes $<TARGET_FILE:siyu>)
# the chain's month on PostgreSQL, smaller than on SQLite (each write a round trip or more)
siyu_pg_test(e2e_chain_month test_chain_month $<TARGET_FILE:siyu>)
set_tests_properties(pg_e2e_chain_month PROPERTIES TIMEOUT 900 LABELS "long" ENVIRONMENT
  "SIYU_MONTH_MEMBERS=500;SIYU_MONTH_DAYS=8;SIYU_DOCS=${PROJECT_SOURCE_DIR}/docs")
siyu_pg_test(e2e_tasks test_tasks $<TARGET_FILE:siyu>)

# The failover drill (scripts/failover-drill.sh): its own primary and synchronous replica,
# the primary stopped and the replica promoted while a node writes orders. It needs
# PostgreSQL's binaries (not SIYU_TEST_PG_URL); without them it is skipped, saying why.
add_test(NAME pg_failover_drill
         COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/failover-drill.sh $<TARGET_FILE:siyu>)
set_tests_properties(pg_failover_drill PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 LABELS pg)
# The views' snapshot on PostgreSQL: a database of its own, the snapshot at a path given.
add_test(NAME pg_views_snapshot
         COMMAND sh -c "[ -n \"$SIYU_TEST_PG_URL\" ] || exit 77; SIYU_TEST_DB=$SIYU_TEST_PG_URL exec bash \"$@\""
                 sh ${PROJECT_SOURCE_DIR}/tests/cli/views_snapshot.sh $<TARGET_FILE:siyu>)
set_tests_properties(pg_views_snapshot PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 LABELS pg)
