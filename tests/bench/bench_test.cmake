# cmake -DBENCH=<courier-bench> -DMODE=smoke|fault|slow|raw|one-cpu|veth -DWORK_DIR=<dir> [-DZMQ=ON]
#       -P bench_test.cmake
#
# ZMQ: courier-bench was built with its ZeroMQ rows; the fault and raw modes run them too.
#
# Runs courier-bench with TMPDIR pointing to an empty directory, so that anything it
# leaves behind there (a registry directory, FIFOs, a gnuplot script) fails the test.
# That directory is under /tmp: courier's fifo: endpoints live in the registry's runtime
# directory, and a deep build tree would make their names too long for a socket address.
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
string(RANDOM LENGTH 8 suffix)
set(TMP_DIR "/tmp/courier-bench-test.${suffix}")
file(MAKE_DIRECTORY "${TMP_DIR}")

function(fail)
    file(REMOVE_RECURSE "${TMP_DIR}")
    message(FATAL_ERROR "${ARGN}\n--- stdout ---\n${out}\n--- stderr ---\n${err}")
endfunction()

function(expect_clean_tmp)
    file(GLOB left "${TMP_DIR}/*")
    file(REMOVE_RECURSE "${TMP_DIR}")
    if(left)
        fail("courier-bench left behind: ${left}")
    endif()
endfunction()

if(MODE STREQUAL "smoke")
    execute_process(
        COMMAND ${CMAKE_COMMAND} -E env TMPDIR=${TMP_DIR}
                ${BENCH} --quick --transports shm,pipe --sizes 64,4K --latency-sizes 64
                --count 500 --round-trips 100 --warmup 10 --count-allocs
                --csv ${WORK_DIR}/out.csv --json ${WORK_DIR}/out.json --png ${WORK_DIR}/out.png
        RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 240)
    if(NOT status EQUAL 0)
        fail("courier-bench exited with ${status}")
    endif()
    foreach(expected "Throughput" "Round-trip latency" "shm +64 B +500 " "pipe +4 KiB +500 +[0-9]")
        if(NOT out MATCHES "${expected}")
            fail("the table lacks '${expected}'")
        endif()
    endforeach()

    # CSV: a header, then a courier and a raw row per measurement (3 per transport).
    file(STRINGS "${WORK_DIR}/out.csv" csv)
    list(LENGTH csv lines)
    if(NOT lines EQUAL 13)
        fail("expected 13 CSV lines, got ${lines}: ${csv}")
    endif()
    list(GET csv 0 header)
    if(NOT header MATCHES "^kind,transport,size,impl,count,runs,ok_runs,status,msgs_per_s,mb_per_s")
        fail("unexpected CSV header: ${header}")
    endif()
    foreach(row "throughput,shm,64,courier,500,1,1,ok,[0-9]"
                "throughput,shm,4096,raw,500,1,1,ok,[0-9]"
                "latency,shm,64,courier,100,1,1,ok,,,[0-9]"
                "throughput,pipe,64,courier,500,1,1,ok,[0-9]"
                "throughput,pipe,64,raw,500,1,1,ok,[0-9]"
                "latency,pipe,64,raw,100,1,1,ok,,,[0-9]"
                "latency,pipe,64,courier,100,1,1,ok,,,[0-9]")
        if(NOT csv MATCHES "${row}")
            fail("the CSV lacks a row like '${row}': ${csv}")
        endif()
    endforeach()

    # JSON: parsed by CMake itself.
    file(READ "${WORK_DIR}/out.json" json)
    string(JSON tool GET "${json}" tool)
    string(JSON throughput_count LENGTH "${json}" throughput)
    string(JSON latency_count LENGTH "${json}" latency)
    string(JSON runs LENGTH "${json}" runs)
    string(JSON first_transport GET "${json}" throughput 0 transport)
    string(JSON first_status GET "${json}" throughput 0 courier status)
    string(JSON first_rate GET "${json}" throughput 0 courier msgs_per_s)
    string(JSON first_ratio GET "${json}" throughput 0 ratio)
    string(JSON allocs GET "${json}" throughput 0 courier allocs_per_msg_sender)
    string(JSON p50 GET "${json}" latency 0 courier p50_us)
    if(NOT tool STREQUAL "courier-bench" OR NOT throughput_count EQUAL 4
       OR NOT latency_count EQUAL 2 OR NOT runs EQUAL 12 OR NOT first_transport STREQUAL "shm"
       OR NOT first_status STREQUAL "ok" OR NOT first_rate GREATER 0
       OR NOT first_ratio GREATER 0 OR allocs LESS 0 OR NOT p50 GREATER 0)
        fail("unexpected JSON: ${json}")
    endif()

    find_program(gnuplot gnuplot)
    if(gnuplot)
        file(READ "${WORK_DIR}/out.png" magic LIMIT 8 HEX)
        if(NOT magic STREQUAL "89504e470d0a1a0a")
            fail("out.png is not a PNG (starts with ${magic})")
        endif()
    endif()
    expect_clean_tmp()
elseif(MODE STREQUAL "fault")
    set(transports fifo)
    if(ZMQ)
        list(APPEND transports zmq-ipc zmq-tcp)
    endif()
    list(JOIN transports "," transport_list)
    execute_process(
        COMMAND ${CMAKE_COMMAND} -E env TMPDIR=${TMP_DIR}
                ${BENCH} --transports ${transport_list} --sizes 64 --latency-sizes 64 --count 200
                --round-trips 50 --warmup 5 --repeat 1 --inject-fault
                --csv ${WORK_DIR}/out.csv
        RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 240)
    if(NOT status EQUAL 1)
        fail("a run with a corrupted payload must exit with 1, got ${status}")
    endif()
    foreach(expected
            "FAILED: fifo 64 B throughput courier: checksum mismatch"
            "FAILED: fifo 64 B throughput raw: checksum mismatch"
            "FAILED: fifo 64 B latency courier: checksum mismatch"
            "FAILED: fifo 64 B latency raw: checksum mismatch")
        if(NOT out MATCHES "${expected}")
            fail("the output lacks '${expected}'")
        endif()
    endforeach()
    if(ZMQ)
        foreach(transport zmq-ipc zmq-tcp)
            foreach(kind throughput latency)
                if(NOT out MATCHES "FAILED: ${transport} 64 B ${kind} raw: checksum mismatch")
                    fail("the output lacks the failed ${transport} ${kind} run")
                endif()
            endforeach()
        endforeach()
    endif()
    file(STRINGS "${WORK_DIR}/out.csv" csv)
    if(NOT csv MATCHES "throughput,fifo,64,courier,200,1,0,FAILED: checksum mismatch")
        fail("the CSV does not show the failure: ${csv}")
    endif()
    expect_clean_tmp()
elseif(MODE STREQUAL "one-cpu")
    # Both processes on one CPU (--scenario one-cpu): the runs pass their checks, pinned
    # to the same CPU, as the JSON records.
    execute_process(
        COMMAND ${CMAKE_COMMAND} -E env TMPDIR=${TMP_DIR}
                ${BENCH} --scenario one-cpu --transports shm,unix --sizes 64 --latency-sizes 64
                --count 2000 --round-trips 200 --warmup 20 --repeat 1 --json ${WORK_DIR}/out.json
        RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 240)
    if(NOT status EQUAL 0)
        fail("courier-bench exited with ${status}")
    endif()
    if(NOT out MATCHES "sender on CPU ([0-9]+), receiver on CPU ([0-9]+)"
       OR NOT CMAKE_MATCH_1 STREQUAL CMAKE_MATCH_2)
        fail("the run was not on one CPU")
    endif()
    foreach(row "shm +64 B +2000 +[0-9]" "unix +64 B +2000 +[0-9]" "shm +64 B +200 +[0-9]"
                "unix +64 B +200 +[0-9]")
        if(NOT out MATCHES "${row}")
            fail("the tables lack a row like '${row}'")
        endif()
    endforeach()
    file(READ "${WORK_DIR}/out.json" json)
    string(JSON pins GET "${json}" "options" "pin")
    string(JSON first GET "${json}" "options" "pin" 0)
    string(JSON second GET "${json}" "options" "pin" 1)
    if(NOT first EQUAL second)
        fail("the JSON records pins ${pins}, not one CPU")
    endif()
    expect_clean_tmp()
elseif(MODE STREQUAL "veth")
    # Each side in a network namespace of its own, joined by a veth pair (as root; else
    # skipped): the tcp runs pass their checks, courier's and raw, and no namespace is
    # left afterwards.
    execute_process(COMMAND id -u OUTPUT_VARIABLE uid OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT uid STREQUAL "0" OR NOT EXISTS /usr/sbin/ip)
        file(REMOVE_RECURSE "${TMP_DIR}")
        message("SKIPPED: --scenario veth needs root and /usr/sbin/ip")
        return()
    endif()
    execute_process(
        COMMAND ${CMAKE_COMMAND} -E env TMPDIR=${TMP_DIR}
                ${BENCH} --scenario veth --sizes 64,1M --latency-sizes 64 --count 2000
                --round-trips 200 --warmup 20 --repeat 1 --json ${WORK_DIR}/out.json
        RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 240)
    if(NOT status EQUAL 0)
        fail("courier-bench exited with ${status}")
    endif()
    if(NOT out MATCHES "network namespace of its own, joined by a veth pair")
        fail("the tables do not say the run crossed a veth pair")
    endif()
    # Beside courier's tcp, raw tcp written one message per call (issue #21's 64 B target).
    foreach(row "tcp +64 B +2000 +[0-9]" "tcp +1 MiB +[0-9]+ +[0-9]" "tcp +64 B +200 +[0-9]"
                "tcp-each +64 B +2000 +n/a +[0-9]" "tcp-each +64 B +200 +n/a +[0-9]"
                "tcp-each: TCP between the namespaces[^\n]*one writev\\(2\\) per message")
        if(NOT out MATCHES "${row}")
            fail("the tables lack a row like '${row}'")
        endif()
    endforeach()
    file(READ "${WORK_DIR}/out.json" json)
    string(JSON veth GET "${json}" "options" "veth")
    if(NOT veth STREQUAL "ON" AND NOT veth STREQUAL "true")
        fail("the JSON does not record the veth scenario: ${veth}")
    endif()
    execute_process(COMMAND /usr/sbin/ip netns list OUTPUT_VARIABLE namespaces)
    if(namespaces MATCHES "courier-bench-")
        fail("network namespaces left behind: ${namespaces}")
    endif()
    expect_clean_tmp()
elseif(MODE STREQUAL "slow")
    # The slow-receiver scenario, small: every message arrives, and each run has a row
    # with its figures (times, both processes' peak memory) in the table, CSV and JSON.
    execute_process(
        COMMAND ${CMAKE_COMMAND} -E env TMPDIR=${TMP_DIR}
                ${BENCH} --scenario slow-receiver --transports shm,unix --count 20000
                --pace-us 1 --csv ${WORK_DIR}/out.csv --json ${WORK_DIR}/out.json
        RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 240)
    if(NOT status EQUAL 0)
        fail("courier-bench exited with ${status}")
    endif()
    if(NOT out MATCHES "Slow receiver: 20000 messages of 1 KiB to a consumer that takes 1 us")
        fail("the table lacks its title")
    endif()
    set(number "[0-9]+(\\.[0-9]+)?")
    foreach(transport shm unix)
        foreach(producer actor thread)
            # elapsed, bound, elapsed/bound, sends, peak producer, peak consumer, lost, status
            set(row "${transport} +${producer} +20000 +${number} +${number} +${number} +${number}")
            set(row "${row} +${number} +${number} +0 +ok")
            if(NOT out MATCHES "${row}")
                fail("the table lacks a row like '${row}'")
            endif()
        endforeach()
    endforeach()

    file(STRINGS "${WORK_DIR}/out.csv" csv)
    list(LENGTH csv lines)
    if(NOT lines EQUAL 5)
        fail("expected 5 CSV lines (a header, a row per run), got ${lines}: ${csv}")
    endif()
    foreach(row "slow-receiver,shm,actor,1024,20000,1,1,ok,20000,20000,0,0,[0-9]"
                "slow-receiver,shm,thread,1024,20000,1,1,ok,20000,20000,0,0,[0-9]"
                "slow-receiver,unix,actor,1024,20000,1,1,ok,20000,20000,0,0,[0-9]"
                "slow-receiver,unix,thread,1024,20000,1,1,ok,20000,20000,0,0,[0-9]")
        if(NOT csv MATCHES "${row}")
            fail("the CSV lacks a row like '${row}': ${csv}")
        endif()
    endforeach()

    file(READ "${WORK_DIR}/out.json" json)
    string(JSON scenario GET "${json}" options scenario)
    string(JSON runs LENGTH "${json}" runs)
    if(NOT scenario STREQUAL "slow-receiver" OR NOT runs EQUAL 4)
        fail("unexpected JSON: ${json}")
    endif()
    foreach(i RANGE 3)
        string(JSON ok GET "${json}" runs ${i} ok)
        string(JSON lost GET "${json}" runs ${i} lost)
        string(JSON received GET "${json}" runs ${i} received)
        string(JSON producer_mib GET "${json}" runs ${i} peak_mib_producer)
        string(JSON consumer_mib GET "${json}" runs ${i} peak_mib_consumer)
        string(JSON sends GET "${json}" runs ${i} sends_s)
        if(NOT ok OR NOT lost EQUAL 0 OR NOT received EQUAL 20000 OR NOT producer_mib GREATER 0
           OR NOT consumer_mib GREATER 0 OR NOT sends GREATER 0)
            fail("unexpected run ${i} in the JSON: ${json}")
        endif()
    endforeach()
    expect_clean_tmp()
elseif(MODE STREQUAL "raw")
    # Every reworked raw baseline (issue #20) and the ZeroMQ rows, alone (--impl raw), at a
    # small size and at one above the stream reader's buffer and a quarter of the ring, so
    # batched writes, buffered and direct reads and ring wrap-around all carry payloads
    # that the receivers check; tcp-each writes each message in a call of its own.
    set(transports pipe fifo unix tcp tcp-each shm inproc)
    if(ZMQ)
        list(APPEND transports zmq-ipc zmq-tcp)
    endif()
    list(JOIN transports "," transport_list)
    execute_process(
        COMMAND ${CMAKE_COMMAND} -E env TMPDIR=${TMP_DIR}
                ${BENCH} --impl raw --transports ${transport_list} --sizes 64,300K
                --latency-sizes 64,300K --count 300 --round-trips 50 --warmup 5 --repeat 1
                --csv ${WORK_DIR}/out.csv
        RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 240)
    if(NOT status EQUAL 0)
        fail("courier-bench exited with ${status}")
    endif()
    file(STRINGS "${WORK_DIR}/out.csv" csv)
    foreach(transport ${transports})
        foreach(size 64 307200)
            foreach(row "throughput,${transport},${size},raw,300,1,1,ok,[0-9]"
                        "latency,${transport},${size},raw,50,1,1,ok,,,[0-9]"
                        "throughput,${transport},${size},courier,300,0,0,\"?n/a")
                if(NOT csv MATCHES "${row}")
                    fail("the CSV lacks a row like '${row}': ${csv}")
                endif()
            endforeach()
        endforeach()
    endforeach()
    if(ZMQ AND NOT out MATCHES "zmq-ipc: ZeroMQ [0-9.]+ ipc://")
        fail("the report does not say which ZeroMQ ran")
    endif()
    expect_clean_tmp()
else()
    message(FATAL_ERROR "MODE must be smoke, fault, slow or raw")
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
