# replay.cmake — every fuzz corpus replayed in the normal test run, without clang.
#
# Included from the top-level CMakeLists.txt (include(fuzz/replay.cmake)) when
# SIYU_FUZZ is off: each fuzz target's LLVMFuzzerTestOneInput is linked with the tiny
# driver replay_main.c and run on every file of fuzz/corpus/<target> as a CTest test
# fuzz_replay_<target>. Crashing inputs found by fuzz/run.sh go into the corpus, so a
# fixed bug stays fixed. Paths are absolute: this file runs in the top-level scope.
set(SIYU_FUZZ_DIR ${CMAKE_SOURCE_DIR}/fuzz)

# target name -> the libraries its entry point calls
set(SIYU_FUZZ_LIBS_fuzz_request siyu_journey siyu_loyalty siyu_domain)
set(SIYU_FUZZ_LIBS_fuzz_csv siyu_import)
set(SIYU_FUZZ_LIBS_fuzz_time_phone siyu_base)
set(SIYU_FUZZ_LIBS_fuzz_messaging siyu_messaging)
set(SIYU_FUZZ_LIBS_fuzz_segment siyu_segment)
set(SIYU_FUZZ_LIBS_fuzz_snapshot siyu_views)

foreach(t fuzz_request fuzz_csv fuzz_time_phone fuzz_messaging fuzz_segment fuzz_snapshot)
  add_executable(${t}_replay ${SIYU_FUZZ_DIR}/${t}.c ${SIYU_FUZZ_DIR}/replay_main.c)
  target_include_directories(${t}_replay PRIVATE ${SIYU_FUZZ_DIR})
  target_link_libraries(${t}_replay PRIVATE ${SIYU_FUZZ_LIBS_${t}})
  add_test(NAME fuzz_replay_${t} COMMAND ${t}_replay ${SIYU_FUZZ_DIR}/corpus/${t})
endforeach()
