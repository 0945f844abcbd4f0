# One ctest of a libFuzzer target (CMakeLists.txt here): cmake -DMODE=... -P run_fuzzer.cmake
#   MODE=fuzz:   copies the seeds (SEEDS) into WORK/corpus, which keeps what earlier runs
#                found, and fuzzes there for SECONDS; a crash's input goes to WORK/artifacts.
#   MODE=replay: runs the target once on each seed and each regression input (REGRESSIONS),
#                without fuzzing.
# Fails if the target does not exit 0: a crash, a sanitizer report, a leak or a timeout.
file(GLOB seeds LIST_DIRECTORIES false "${SEEDS}/*")
file(GLOB regressions LIST_DIRECTORIES false "${REGRESSIONS}/*")
if(MODE STREQUAL "fuzz")
    file(MAKE_DIRECTORY "${WORK}/corpus" "${WORK}/artifacts")
    if(seeds)
        file(COPY ${seeds} DESTINATION "${WORK}/corpus")
    endif()
    execute_process(COMMAND "${FUZZER}" -max_total_time=${SECONDS} -timeout=10
                            -print_final_stats=1 "-artifact_prefix=${WORK}/artifacts/"
                            "${WORK}/corpus"
                    RESULT_VARIABLE result)
    set(what "fuzzing ${FUZZER} found a crash; its input is in ${WORK}/artifacts/: add it to \
${REGRESSIONS}/ (tests/fuzz/README.md)")
elseif(MODE STREQUAL "replay")
    if(NOT seeds AND NOT regressions)
        message(FATAL_ERROR "no seeds in ${SEEDS}")
    endif()
    execute_process(COMMAND "${FUZZER}" ${seeds} ${regressions} RESULT_VARIABLE result)
    set(what "${FUZZER} crashed on a seed or a regression input")
else()
    message(FATAL_ERROR "MODE must be fuzz or replay, not '${MODE}'")
endif()
if(NOT result EQUAL 0)
    message(FATAL_ERROR "${what} (exit: ${result})")
endif()
