#compdef speedo

__speedo_complete() {
    local -ar non_empty_completions=("${@:#(|:*)}")
    local -ar empty_completions=("${(M)@:#(|:*)}")
    _describe -V '' non_empty_completions -- empty_completions -P $'\'\''
}

__speedo_custom_complete() {
    local -a completions
    completions=("${(@f)"$("${command_name}" "${@}" "${command_line[@]}")"}")
    if [[ "${#completions[@]}" -gt 1 ]]; then
        __speedo_complete "${completions[@]:0:-1}"
    fi
}

__speedo_cursor_index_in_current_word() {
    if [[ -z "${QIPREFIX}${IPREFIX}${PREFIX}" ]]; then
        printf 0
    else
        printf %s "${#${(z)LBUFFER}[-1]}"
    fi
}

_speedo() {
    emulate -RL zsh -G
    setopt extendedglob nullglob numericglobsort
    unsetopt aliases banghist

    local -xr SAP_SHELL=zsh
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(builtin emulate zsh -c 'printf %s "${ZSH_VERSION}"')"
    local -r SAP_SHELL_VERSION

    local context state state_descr line
    local -A opt_args

    local -r command_name="${words[1]}"
    local -ar command_line=("${words[@]}")
    local -ir current_word_index="$((CURRENT - 1))"

    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'ingest:Validate NDJSON or CSV readings from files, stdin or HTTP and publish them to Kafka.'
            'simulate:Simulate vehicles passing speed sensors and send their readings.'
            'consume:Read the readings topic and write it somewhere: PostgreSQL, the latest state per sensor, standard output.'
            'watch:Show the sensors live in the terminal: speed, gauge and sparkline per sensor.'
            'gateway:Push each sensor'\''s latest state from speed-latest to web clients over WebSocket.'
            'dev:Run the embedded local stack: a Kafka-protocol broker and a private PostgreSQL.'
            'status:Show brokers, topics, consumer lag and what PostgreSQL holds.'
            'history:Show the stored readings of sensors over a time range, raw or time-bucketed.'
            'replay:Re-read the readings topic over a time range: to stdout, into PostgreSQL, or onto another topic.'
            'verify:Check that the history in PostgreSQL is exactly what the readings topic holds.'
            'db:Maintain the history in PostgreSQL: retention, gaps, where writers resume, rollups.'
            'config:Show the settings in effect: configuration file, profile, flags and environment.'
            'help:Show subcommand help information.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        ingest|simulate|consume|watch|gateway|dev|status|history|replay|verify|db|config|help)
            "_speedo_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_speedo_ingest() {
    local -i ret=1
    local -ar ___format=('ndjson' 'csv')
    local -ar arg_specs=(
        '*:file:'
        '(-b --brokers)'{-b,--brokers}'[Kafka bootstrap servers, host\:port\[,host\:port…\].]:host\:port:'
        '(-t --topic)'{-t,--topic}'[The readings topic.]:name:'
        '*-X[A librdkafka property, repeatable (as in kcat).]:key=value:'
        '--connect-timeout[How long to keep retrying when no broker answers at startup (e.g. 30s, 2m; at most 24h).]:duration:'
        '--format[Input format for every input instead of detecting it.]:ndjson|csv:{__speedo_complete "${___format[@]}"}'
        '--reject-file[Write every rejected line as read (without its line ending) to this file, to fix and ingest again.]:path:'
        '--max-errors[Stop reading after this many rejected lines; what was read is still published.]:n:'
        '--partitions[Partitions of the topic when it has to be created, 1 to 10000.]:n:'
        '--listen[Serve the HTTP ingestion API on this address instead of reading files or stdin.]:host\:port:'
        '--max-body[Largest request body accepted (413 beyond it)\: bytes, or with KiB or MiB.]:size:'
        '--delivery-timeout[How long a reading may wait for the broker'\''s acknowledgement before its request answers 503 (in doubt).]:duration:'
        '--token-file[Require `Authorization\: Bearer <token>` on /speed and /metrics; the token is the file'\''s content, trimmed.]:path:'
        '--access-log[Log one line per HTTP request on stderr.]'
        '*--allow-host[Also answer requests whose Host is this name (repeatable; * accepts any Host).]:name:'
        '*--allow-origin[Accept requests from browser pages of this origin, e.g. https\://dash.example.com (repeatable).]:origin:'
        '--max-connections[Serve at most this many connections at once; more wait to be accepted until one closes (default\: ulimit -n less 64).]:count:'
        '--idle-timeout[Close a connection that has no request in progress, or does not read its answers, for this long (default\: 60s).]:duration:'
        '--header-timeout[Close a connection whose request head is not complete this long after its first byte (default\: 10s).]:duration:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_speedo_simulate() {
    local -i ret=1
    local -ar arg_specs=(
        '--sensors[How many sensors to simulate, one vehicle each (1 to 1000000).]:sensors:'
        '--rate[Readings per second from each sensor, from 0.0001 (one in under 3 hours) to 1000.]:hz:'
        '--duration[Stop after this long (500ms, 90s, 15m, 1h), up to 36500d.]:duration:'
        '--count[Stop after this many readings in total (all sensors).]:n:'
        '--seed[Seed of the simulation; the same seed repeats the same drive.]:seed:'
        '--prefix[Sensor ids are <prefix>0 to <prefix>N-1.]:text:'
        '--start[Time stamped on the first reading.]:time:'
        '--stdout[Write the readings to stdout as NDJSON, one canonical JSON object per line.]'
        '--via[POST the readings as JSON arrays to the ingestion API at this URL.]:url:'
        '--batch[Readings per POST with --via, 1 to 100000 (default\: 500).]:n:'
        '(-b --brokers)'{-b,--brokers}'[Kafka bootstrap servers, host\:port\[,host\:port…\].]:host\:port:'
        '(-t --topic)'{-t,--topic}'[The readings topic.]:name:'
        '*-X[A librdkafka property, repeatable (as in kcat).]:key=value:'
        '--connect-timeout[How long to keep retrying when no broker answers at startup (e.g. 30s, 2m; at most 24h).]:duration:'
        '--partitions[Partitions of the topic when it has to be created, 1 to 10000.]:n:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_speedo_consume() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'postgres:Write the readings topic to PostgreSQL (speed_readings), exactly once.'
            'latest:Keep each sensor'\''s latest reading and rolling statistics in the compacted topic speed-latest.'
            'stdout:Write the readings topic to standard output, as NDJSON or CSV, for pipelines.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        postgres|latest|stdout)
            "_speedo_consume_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_speedo_consume_postgres() {
    local -i ret=1
    local -ar ___on_gap=('record' 'stop')
    local -ar arg_specs=(
        '(-b --brokers)'{-b,--brokers}'[Kafka bootstrap servers, host\:port\[,host\:port…\].]:host\:port:'
        '(-t --topic)'{-t,--topic}'[The readings topic.]:name:'
        '*-X[A librdkafka property, repeatable (as in kcat).]:key=value:'
        '--connect-timeout[How long to keep retrying when no broker answers at startup (e.g. 30s, 2m; at most 24h).]:duration:'
        '(-d --database-url)'{-d,--database-url}'[PostgreSQL connection URL or conninfo string.]:url:'
        '--group[The consumer group; its offsets are kept in PostgreSQL (speedo_consumer_offsets).]:id:'
        '--batch-size[Store a batch once it holds this many records (1 to 1000000)…]:records:'
        '--batch-interval[…or once its first record has waited this long, whichever comes first (e.g. 200ms, 1s; at most 1h).]:duration:'
        '--log-interval[How often to report throughput and lag on stderr.]:duration:'
        '--exit-at-end[Stop (exit 0) once every assigned partition has been read to its end and stored; for backfills and tests. Only the partitions assigned to this member count\: run it alone in its group (a member that died less than its session timeout ago still holds its share).]'
        '--metrics-listen[Serve GET /metrics and the probes (/livez, /readyz) on this address (host\:port; port 0 picks a free one, shown on stderr).]:host\:port:'
        '--on-gap[When records were removed from the topic before they were stored\: record the gap and go on, or stop (exit 65).]:record|stop:{__speedo_complete "${___on_gap[@]}"}'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_speedo_consume_latest() {
    local -i ret=1
    local -ar arg_specs=(
        '(-b --brokers)'{-b,--brokers}'[Kafka bootstrap servers, host\:port\[,host\:port…\].]:host\:port:'
        '(-t --topic)'{-t,--topic}'[The readings topic.]:name:'
        '*-X[A librdkafka property, repeatable (as in kcat).]:key=value:'
        '--connect-timeout[How long to keep retrying when no broker answers at startup (e.g. 30s, 2m; at most 24h).]:duration:'
        '--group[The consumer group; its offsets are committed to Kafka.]:id:'
        '--metrics-listen[Serve GET /metrics and the probes (/livez, /readyz) on this address (host\:port; port 0 picks a free one, shown on stderr).]:host\:port:'
        '--max-rate[At most this many records per second per sensor, from 0.001 to 1000.]:n:'
        '--window[The span of the rolling statistics, by event time, in whole seconds from 1s to 24h (e.g. 60s, 5m).]:duration:'
        '--exit-at-end[Stop (exit 0) once every assigned partition has been read to its end and every state was published and acknowledged; for tests and backfills. Run it alone in its group.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_speedo_consume_stdout() {
    local -i ret=1
    local -ar ___format=('ndjson' 'csv')
    local -ar ___from=('beginning' 'end' 'stored')
    local -ar arg_specs=(
        '(-b --brokers)'{-b,--brokers}'[Kafka bootstrap servers, host\:port\[,host\:port…\].]:host\:port:'
        '(-t --topic)'{-t,--topic}'[The readings topic.]:name:'
        '*-X[A librdkafka property, repeatable (as in kcat).]:key=value:'
        '--connect-timeout[How long to keep retrying when no broker answers at startup (e.g. 30s, 2m; at most 24h).]:duration:'
        '--format[Output format\: ndjson or csv.]:format:{__speedo_complete "${___format[@]}"}'
        '--from[Where to start\: beginning, end, or stored (the group'\''s committed offsets).]:position:{__speedo_complete "${___from[@]}"}'
        '--group[Read as a member of this consumer group and commit offsets after writing (at least once).]:id:'
        '--exit-at-end[Stop (exit 0) once every partition read has been read to its end.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_speedo_watch() {
    local -i ret=1
    local -ar ___source=('latest' 'events')
    local -ar arg_specs=(
        '--window[How much history the sparklines show, from 1s to 24h (e.g. 30s, 5m).]:duration:'
        '--stale[A sensor silent this long is shown as stale.]:duration:'
        '--source[Where readings come from\: latest (speed-latest) or events (the readings topic).]:source:{__speedo_complete "${___source[@]}"}'
        '--sensors[Only sensors whose id matches\: * any characters, ? one, commas between patterns.]:glob:'
        '--once[Print one plain-text frame to stdout and exit; needs no terminal.]'
        '--columns[The width of the --once frame, 20 to 1000.]:n:'
        '(-b --brokers)'{-b,--brokers}'[Kafka bootstrap servers, host\:port\[,host\:port…\].]:host\:port:'
        '(-t --topic)'{-t,--topic}'[The readings topic.]:name:'
        '*-X[A librdkafka property, repeatable (as in kcat).]:key=value:'
        '--connect-timeout[How long to keep retrying when no broker answers at startup (e.g. 30s, 2m; at most 24h).]:duration:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_speedo_gateway() {
    local -i ret=1
    local -ar arg_specs=(
        '(-b --brokers)'{-b,--brokers}'[Kafka bootstrap servers, host\:port\[,host\:port…\].]:host\:port:'
        '(-t --topic)'{-t,--topic}'[The readings topic.]:name:'
        '*-X[A librdkafka property, repeatable (as in kcat).]:key=value:'
        '--connect-timeout[How long to keep retrying when no broker answers at startup (e.g. 30s, 2m; at most 24h).]:duration:'
        '--listen[The address to serve on; port 0 picks a free port (the address in use is logged on stderr).]:host\:port:'
        '--token-file[Require this token (the file'\''s content, trimmed) on /ws/speed and /metrics.]:path:'
        '*--allow-host[Also answer requests whose Host is this name (repeatable; * accepts any Host).]:name:'
        '*--allow-origin[Accept requests from browser pages of this origin, e.g. https\://dash.example.com (repeatable).]:origin:'
        '--max-connections[Serve at most this many connections at once; more wait to be accepted until one closes (default\: ulimit -n less 64).]:count:'
        '--idle-timeout[Close a connection that has no request in progress, or does not read its answers, for this long (default\: 60s).]:duration:'
        '--header-timeout[Close a connection whose request head is not complete this long after its first byte (default\: 10s).]:duration:'
        '--max-lag[Close a client whose oldest undelivered update has waited longer than this.]:duration:'
        '--ping-interval[Ping idle clients this often; one that does not answer in time is closed.]:duration:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_speedo_dev() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'up:Start the local broker and PostgreSQL; harmless when they already run.'
            'down:Stop the local broker and PostgreSQL.'
            'status:Say what of the local stack runs.'
            'env:Print SPEEDO_BROKERS and SPEEDO_DATABASE_URL of the local stack, for eval.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        up|down|status|env)
            "_speedo_dev_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_speedo_dev_up() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_speedo_dev_down() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_speedo_dev_status() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_speedo_dev_env() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_speedo_status() {
    local -i ret=1
    local -ar arg_specs=(
        '(-b --brokers)'{-b,--brokers}'[Kafka bootstrap servers, host\:port\[,host\:port…\].]:host\:port:'
        '(-t --topic)'{-t,--topic}'[The readings topic.]:name:'
        '*-X[A librdkafka property, repeatable (as in kcat).]:key=value:'
        '(-d --database-url)'{-d,--database-url}'[PostgreSQL connection URL or conninfo string.]:url:'
        '--top[How many sensors to list (0 to 100000), those with the most readings first.]:top:'
        '--timeout[How long to keep retrying an unreachable broker or database.]:duration:'
        '--check[One line and a monitoring-plugin exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), for checks.]'
        '--max-lag[With --check\: records the writers have not stored yet, over every partition.]:warn\[,crit\]:'
        '--max-dlq[With --check\: records in the dead-letter topic (the topic plus .dlq).]:warn\[,crit\]:'
        '--max-silence[With --check\: how long a sensor heard from in the last 7 days may stay quiet (durations\: 90s, 5m, 1h).]:warn\[,crit\]:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_speedo_history() {
    local -i ret=1
    local -ar ___format=('table' 'csv' 'ndjson' 'json')
    local -ar arg_specs=(
        '*:sensor:'
        '--since[Start of the range (inclusive)\: a duration back from now (90s, 15m, 1h, 7d), an RFC 3339 time or @EPOCH.]:time:'
        '--until[End of the range (exclusive), written like --since.]:time:'
        '--bucket[Aggregate per bucket of this length (e.g. 1m, 1h), from 1ms to 36500d.]:duration:'
        '--format[Output format.]:format:{__speedo_complete "${___format[@]}"}'
        '--limit[Print at most this many rows (readings or buckets), 1 or more.]:rows:'
        '--plot[Draw a chart (km/h over time) per sensor instead of printing rows; --bucket plots the averages.]'
        '--parallel[Read the range as this many time slices over as many connections at once, 1 to 16 (PostgreSQL runs each query on one core).]:connections:'
        '--exact[With --bucket\: buckets from exactly --since, out of the raw rows (an exact 95th percentile), not the rollups.]'
        '(-d --database-url)'{-d,--database-url}'[PostgreSQL connection URL or conninfo string.]:url:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_speedo_replay() {
    local -i ret=1
    local -ar ___format=('ndjson' 'csv')
    local -ar arg_specs=(
        '--since[Start of the range (inclusive)\: a duration back from now (90s, 15m, 1h, 7d), an RFC 3339 time or @EPOCH.]:time:'
        '--until[End of the range (exclusive), written like --since.]:time:'
        '*--sensor[Only this sensor'\''s readings (repeatable; default\: all).]:id:'
        '--to[stdout, postgres or topic\:NAME.]:target:'
        '--pace[max, or the recorded cadence sped up\: 1x, 10x, 0.5x (from 0.001x to 1000000x).]:pace:'
        '--format[Format on stdout.]:format:{__speedo_complete "${___format[@]}"}'
        '(-b --brokers)'{-b,--brokers}'[Kafka bootstrap servers, host\:port\[,host\:port…\].]:host\:port:'
        '(-t --topic)'{-t,--topic}'[The readings topic.]:name:'
        '*-X[A librdkafka property, repeatable (as in kcat).]:key=value:'
        '--connect-timeout[How long to keep retrying when no broker answers at startup (e.g. 30s, 2m; at most 24h).]:duration:'
        '(-d --database-url)'{-d,--database-url}'[PostgreSQL connection URL or conninfo string.]:url:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_speedo_verify() {
    local -i ret=1
    local -ar ___format=('table' 'ndjson')
    local -ar arg_specs=(
        '--since[Start of the range (inclusive), written as for replay (default\: everything the topic holds).]:time:'
        '--until[End of the range (exclusive), written like --since.]:time:'
        '*--sensor[Only this sensor'\''s readings and rows (repeatable; default\: all).]:id:'
        '--group[The consume postgres group whose stored offsets say how far the history is written.]:id:'
        '--format[Format of the findings on stdout.]:format:{__speedo_complete "${___format[@]}"}'
        '(-b --brokers)'{-b,--brokers}'[Kafka bootstrap servers, host\:port\[,host\:port…\].]:host\:port:'
        '(-t --topic)'{-t,--topic}'[The readings topic.]:name:'
        '*-X[A librdkafka property, repeatable (as in kcat).]:key=value:'
        '--connect-timeout[How long to keep retrying when no broker answers at startup (e.g. 30s, 2m; at most 24h).]:duration:'
        '(-d --database-url)'{-d,--database-url}'[PostgreSQL connection URL or conninfo string.]:url:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_speedo_db() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'prune:Drop the daily partitions of speed_readings older than a retention age.'
            'gaps:List the records the history is missing because the brokers removed them first.'
            'reset-offsets:Set where a `consume postgres` group resumes reading the topic.'
            'rollup:Show the per-sensor rollups of the history, or rebuild them from the rows.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        prune|gaps|reset-offsets|rollup)
            "_speedo_db_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_speedo_db_prune() {
    local -i ret=1
    local -ar arg_specs=(
        '--older-than[Retention age\: drop partitions whose whole day ended at least this long ago (e.g. 7d, 12h, 2w), from 1s to 36500d.]:duration:'
        '--dry-run[List the partitions that would be dropped, with their rows; change nothing.]'
        '--with-rollups[Also delete the rollups'\'' buckets of the days dropped (by default they stay, for history --bucket).]'
        '(-d --database-url)'{-d,--database-url}'[PostgreSQL connection URL or conninfo string.]:url:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_speedo_db_gaps() {
    local -i ret=1
    local -ar arg_specs=(
        '--all[Also list gaps acknowledged before.]'
        '--acknowledge[Mark the gaps listed as acknowledged\: `status --check` stops counting them.]'
        '(-d --database-url)'{-d,--database-url}'[PostgreSQL connection URL or conninfo string.]:url:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_speedo_db_reset-offsets() {
    local -i ret=1
    local -ar arg_specs=(
        '--group[The consumer group whose offsets to set.]:id:'
        '--to[earliest, latest, or an offset of 0 or more (with --partition).]:earliest|latest|offset:'
        '*--partition[Only this partition, 0 or more (repeatable); default\: every partition of the topic.]:n:'
        '(-b --brokers)'{-b,--brokers}'[Kafka bootstrap servers, host\:port\[,host\:port…\].]:host\:port:'
        '(-t --topic)'{-t,--topic}'[The readings topic.]:name:'
        '*-X[A librdkafka property, repeatable (as in kcat).]:key=value:'
        '--connect-timeout[How long to keep retrying when no broker answers at startup (e.g. 30s, 2m; at most 24h).]:duration:'
        '(-d --database-url)'{-d,--database-url}'[PostgreSQL connection URL or conninfo string.]:url:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_speedo_db_rollup() {
    local -i ret=1
    local -ar arg_specs=(
        '--rebuild[Recompute the rollups from the rows from --since on.]'
        '--since[With --rebuild\: where to start, written as for history (e.g. 7d, 2024-05-01T00\:00\:00Z).]:time:'
        '(-d --database-url)'{-d,--database-url}'[PostgreSQL connection URL or conninfo string.]:url:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_speedo_config() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'show:Print every setting in effect and where it came from; passwords are masked.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        show)
            "_speedo_config_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_speedo_config_show() {
    local -i ret=1
    local -ar arg_specs=(
        '(-b --brokers)'{-b,--brokers}'[Kafka bootstrap servers, host\:port\[,host\:port…\].]:host\:port:'
        '(-t --topic)'{-t,--topic}'[The readings topic.]:name:'
        '*-X[A librdkafka property, repeatable (as in kcat).]:key=value:'
        '(-d --database-url)'{-d,--database-url}'[PostgreSQL connection URL or conninfo string.]:url:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_speedo_help() {
    local -i ret=1
    local -ar arg_specs=(
        '*:subcommands:'
        '--version[Show the version.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

if [[ "${funcstack[1]}" = _speedo ]]; then
    _speedo "${@}"
else
    compdef _speedo speedo
fi
