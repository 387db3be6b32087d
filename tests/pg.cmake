# The tests that run on PostgreSQL too: each again as pg_NAME, with SIYU_TEST_DB set to the
# server SIYU_TEST_PG_URL names (the test makes its own fresh database there, see
# tests/check/pgtest.h). Without SIYU_TEST_PG_URL they are skipped; scripts/test.sh starts a
# throwaway PostgreSQL 15 and sets it.
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
foreach(t members orders events)
  siyu_pg_test(unit_domain_${t} test_${t})
endforeach()
siyu_pg_test(unit_loyalty test_loyalty_unit)
siyu_pg_test(unit_models test_models)
siyu_pg_test(unit_import test_import)
siyu_pg_test(unit_guides test_guides_unit)
# fault injection is store.c's, around either driver: the write paths fail cleanly on both
siyu_pg_test(unit_writer_faults test_faults)
siyu_pg_test(unit_pipeline_faults test_pipeline_faults)
# end-to-end: the real siyu serve on a PostgreSQL database
foreach(t kill9 api init segments_e2e loyalty journeys messaging transport authz writer readyz numbers games
          rights guides audit conventions ops contract session transfers)
  siyu_pg_test(e2e_${t} test_${t} $<TARGET_FILE:siyu>)
endforeach()
# the command line on a PostgreSQL store: init, imports, export, segment count, check, tokens, KPI
siyu_pg_test(cli test_cli $<TARGET_FILE:siyu> ${PROJECT_SOURCE_DIR})
