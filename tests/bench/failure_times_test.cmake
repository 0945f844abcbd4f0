# cmake -DTOOL=<courier-failure-times> -DWORK_DIR=<dir> -P failure_times_test.cmake
#
# A quick run over unix and tcp: the table has every row, each figure is a number (a hung
# peer: told over tcp, which keeps a heartbeat, never over unix), no
# request on the open link was lost while courierd was away, and nothing is left behind:
# not in TMPDIR (an empty directory of its own, which holds the private registry's runtime
# directory), nor in /dev/shm or /dev/mqueue under the pids of its processes. Timings are
# never asserted.
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
string(RANDOM LENGTH 8 suffix)
set(TMP_DIR "/tmp/courier-failure-times-test.${suffix}")
file(MAKE_DIRECTORY "${TMP_DIR}")

function(fail)
    file(REMOVE_RECURSE "${TMP_DIR}")
    message(FATAL_ERROR "${ARGN}\n--- stdout ---\n${out}\n--- stderr ---\n${err}")
endfunction()

execute_process(
    COMMAND ${CMAKE_COMMAND} -E env TMPDIR=${TMP_DIR}
            ${TOOL} --quick --transports unix,tcp --csv ${WORK_DIR}/out.csv
    RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
if(NOT status EQUAL 0)
    fail("courier-failure-times exited with ${status}")
endif()

set(number "[0-9]+(\\.[0-9]+)?")
set(figure "${number} / ${number}[^|]*")
set(both "\\| ${figure} \\| ${figure} \\|")
foreach(row
        "\\| actor throws \\(policy restart\\) \\| [^|]+ \\| ${figure} \\(in-process\\) \\|"
        "\\| actor stops itself [^|]+ \\| pending request [^|]+`stopped` ${both}"
        "\\| actor stops itself [^|]+ \\| `monitor\\(\\)` in a node linked [^|]+ ${both}"
        "\\| actor stops itself [^|]+ \\| `monitor\\(\\)` in a node with no link [^|]+ ${both}"
        "\\| process killed \\(SIGKILL\\) \\| pending request [^|]+`peer_down` ${both}"
        "\\| process killed \\(SIGKILL\\) \\| `monitor\\(\\)` in a node linked [^|]+ ${both}"
        "\\| process killed \\(SIGKILL\\) \\| `monitor\\(\\)` in a node with no link [^|]+ ${both}"
        "\\| process killed \\(SIGKILL\\) \\| the registry: `NameDown` [^|]+ ${both}"
        "\\| process hung \\(SIGSTOP\\) \\| pending request [^|]+`peer_down` \\| never \\| ${figure} \\|"
        "\\| process hung \\(SIGSTOP\\) \\| `monitor\\(\\)` in a node linked [^|]+ \\| never \\| ${figure} \\|"
        "\\| process hung \\(SIGSTOP\\) \\| `monitor\\(\\)` in a node with no link [^|]+ \\| never \\| never \\|"
        "\\| process hung \\(SIGSTOP\\) \\| the registry \\| never \\| never \\|"
        "\\| courierd killed \\(SIGKILL\\) \\| a new lookup finds node A's [^|]+ ${both}"
        "\\| courierd killed \\(SIGKILL\\) \\| a new lookup finds node B's [^|]+ ${both}"
        "\\| courierd killed \\(SIGKILL\\) \\| [^|]+ lost \\| 0 of [1-9][0-9]* \\| 0 of [1-9][0-9]* \\|")
    if(NOT out MATCHES "${row}")
        fail("the table lacks a row like '${row}'")
    endif()
endforeach()
if(NOT out MATCHES "Left behind: nothing" OR out MATCHES "FAILED")
    fail("the run left something behind or failed")
endif()

file(STRINGS "${WORK_DIR}/out.csv" csv)
list(LENGTH csv lines)
if(NOT lines EQUAL 30)  # a header, 14 rows for each transport, the restart's row
    fail("expected 30 CSV lines, got ${lines}: ${csv}")
endif()

file(GLOB left "${TMP_DIR}/*")
file(REMOVE_RECURSE "${TMP_DIR}")
if(left)
    fail("courier-failure-times left behind: ${left}")
endif()
if(NOT err MATCHES "processes:([0-9 ]+)")
    fail("the run did not list its processes")
endif()
string(REPLACE " " ";" pids "${CMAKE_MATCH_1}")
file(GLOB objects /dev/shm/* /dev/mqueue/*)
foreach(pid IN LISTS pids)
    if(pid AND objects MATCHES "\\.${pid}@")
        fail("an IPC object of process ${pid} is left: ${objects}")
    endif()
endforeach()
file(REMOVE_RECURSE "${WORK_DIR}")
