function __speedo_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __speedo_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __speedo_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __speedo_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __speedo_parse_tokens -S
    set -l unparsed_tokens (__speedo_tokens -pc)
    switch $unparsed_tokens[1]
    case 'speedo'
        __speedo_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'ingest'
            __speedo_parse_subcommand -r 1 'b/brokers=' 't/topic=' 'X=+' 'connect-timeout=' 'format=' 'reject-file=' 'max-errors=' 'partitions=' 'listen=' 'max-body=' 'delivery-timeout=' 'token-file=' 'access-log' 'allow-host=+' 'allow-origin=+' 'max-connections=' 'idle-timeout=' 'header-timeout=' 'version' 'h/help'
        case 'simulate'
            __speedo_parse_subcommand 0 'sensors=' 'rate=' 'duration=' 'count=' 'seed=' 'prefix=' 'start=' 'stdout' 'via=' 'batch=' 'b/brokers=' 't/topic=' 'X=+' 'connect-timeout=' 'partitions=' 'version' 'h/help'
        case 'consume'
            __speedo_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'postgres'
                __speedo_parse_subcommand 0 'b/brokers=' 't/topic=' 'X=+' 'connect-timeout=' 'd/database-url=' 'group=' 'batch-size=' 'batch-interval=' 'log-interval=' 'exit-at-end' 'metrics-listen=' 'on-gap=' 'version' 'h/help'
            case 'latest'
                __speedo_parse_subcommand 0 'b/brokers=' 't/topic=' 'X=+' 'connect-timeout=' 'group=' 'metrics-listen=' 'max-rate=' 'window=' 'exit-at-end' 'version' 'h/help'
            case 'stdout'
                __speedo_parse_subcommand 0 'b/brokers=' 't/topic=' 'X=+' 'connect-timeout=' 'format=' 'from=' 'group=' 'exit-at-end' 'version' 'h/help'
            end
        case 'watch'
            __speedo_parse_subcommand 0 'window=' 'stale=' 'source=' 'sensors=' 'once' 'columns=' 'b/brokers=' 't/topic=' 'X=+' 'connect-timeout=' 'version' 'h/help'
        case 'gateway'
            __speedo_parse_subcommand 0 'b/brokers=' 't/topic=' 'X=+' 'connect-timeout=' 'listen=' 'token-file=' 'allow-host=+' 'allow-origin=+' 'max-connections=' 'idle-timeout=' 'header-timeout=' 'max-lag=' 'ping-interval=' 'version' 'h/help'
        case 'dev'
            __speedo_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'up'
                __speedo_parse_subcommand 0 'version' 'h/help'
            case 'down'
                __speedo_parse_subcommand 0 'version' 'h/help'
            case 'status'
                __speedo_parse_subcommand 0 'version' 'h/help'
            case 'env'
                __speedo_parse_subcommand 0 'version' 'h/help'
            end
        case 'status'
            __speedo_parse_subcommand 0 'b/brokers=' 't/topic=' 'X=+' 'd/database-url=' 'top=' 'timeout=' 'check' 'max-lag=' 'max-dlq=' 'max-silence=' 'version' 'h/help'
        case 'history'
            __speedo_parse_subcommand -r 1 'since=' 'until=' 'bucket=' 'format=' 'limit=' 'plot' 'parallel=' 'exact' 'd/database-url=' 'version' 'h/help'
        case 'replay'
            __speedo_parse_subcommand 0 'since=' 'until=' 'sensor=+' 'to=' 'pace=' 'format=' 'b/brokers=' 't/topic=' 'X=+' 'connect-timeout=' 'd/database-url=' 'version' 'h/help'
        case 'verify'
            __speedo_parse_subcommand 0 'since=' 'until=' 'sensor=+' 'group=' 'format=' 'b/brokers=' 't/topic=' 'X=+' 'connect-timeout=' 'd/database-url=' 'version' 'h/help'
        case 'db'
            __speedo_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'prune'
                __speedo_parse_subcommand 0 'older-than=' 'dry-run' 'with-rollups' 'd/database-url=' 'version' 'h/help'
            case 'gaps'
                __speedo_parse_subcommand 0 'all' 'acknowledge' 'd/database-url=' 'version' 'h/help'
            case 'reset-offsets'
                __speedo_parse_subcommand 0 'group=' 'to=' 'partition=+' 'b/brokers=' 't/topic=' 'X=+' 'connect-timeout=' 'd/database-url=' 'version' 'h/help'
            case 'rollup'
                __speedo_parse_subcommand 0 'rebuild' 'since=' 'd/database-url=' 'version' 'h/help'
            end
        case 'config'
            __speedo_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'show'
                __speedo_parse_subcommand 0 'b/brokers=' 't/topic=' 'X=+' 'd/database-url=' 'version' 'h/help'
            end
        case 'help'
            __speedo_parse_subcommand -r 1 'version'
        end
    end
end

function __speedo_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __speedo_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __speedo_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __speedo_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__speedo_tokens -p)
    if test -z "$(__speedo_tokens -t)"
        set -l index (count (__speedo_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'speedo' -f
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo" -eq 1' -fa 'ingest' -d 'Validate NDJSON or CSV readings from files, stdin or HTTP and publish them to Kafka.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo" -eq 1' -fa 'simulate' -d 'Simulate vehicles passing speed sensors and send their readings.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo" -eq 1' -fa 'consume' -d 'Read the readings topic and write it somewhere: PostgreSQL, the latest state per sensor, standard output.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo" -eq 1' -fa 'watch' -d 'Show the sensors live in the terminal: speed, gauge and sparkline per sensor.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo" -eq 1' -fa 'gateway' -d 'Push each sensor\'s latest state from speed-latest to web clients over WebSocket.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo" -eq 1' -fa 'dev' -d 'Run the embedded local stack: a Kafka-protocol broker and a private PostgreSQL.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo" -eq 1' -fa 'status' -d 'Show brokers, topics, consumer lag and what PostgreSQL holds.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo" -eq 1' -fa 'history' -d 'Show the stored readings of sensors over a time range, raw or time-bucketed.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo" -eq 1' -fa 'replay' -d 'Re-read the readings topic over a time range: to stdout, into PostgreSQL, or onto another topic.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo" -eq 1' -fa 'verify' -d 'Check that the history in PostgreSQL is exactly what the readings topic holds.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo" -eq 1' -fa 'db' -d 'Maintain the history in PostgreSQL: retention, gaps, where writers resume, rollups.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo" -eq 1' -fa 'config' -d 'Show the settings in effect: configuration file, profile, flags and environment.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo ingest" b brokers' -s 'b' -l 'brokers' -d 'Kafka bootstrap servers, host:port[,host:port…].' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo ingest" t topic' -s 't' -l 'topic' -d 'The readings topic.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo ingest"' -s 'X' -d 'A librdkafka property, repeatable (as in kcat).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo ingest" connect-timeout' -l 'connect-timeout' -d 'How long to keep retrying when no broker answers at startup (e.g. 30s, 2m; at most 24h).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo ingest" format' -l 'format' -d 'Input format for every input instead of detecting it.' -rfka 'ndjson csv'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo ingest" reject-file' -l 'reject-file' -d 'Write every rejected line as read (without its line ending) to this file, to fix and ingest again.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo ingest" max-errors' -l 'max-errors' -d 'Stop reading after this many rejected lines; what was read is still published.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo ingest" partitions' -l 'partitions' -d 'Partitions of the topic when it has to be created, 1 to 10000.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo ingest" listen' -l 'listen' -d 'Serve the HTTP ingestion API on this address instead of reading files or stdin.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo ingest" max-body' -l 'max-body' -d 'Largest request body accepted (413 beyond it): bytes, or with KiB or MiB.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo ingest" delivery-timeout' -l 'delivery-timeout' -d 'How long a reading may wait for the broker\'s acknowledgement before its request answers 503 (in doubt).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo ingest" token-file' -l 'token-file' -d 'Require `Authorization: Bearer <token>` on /speed and /metrics; the token is the file\'s content, trimmed.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo ingest" access-log' -l 'access-log' -d 'Log one line per HTTP request on stderr.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo ingest"' -l 'allow-host' -d 'Also answer requests whose Host is this name (repeatable; * accepts any Host).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo ingest"' -l 'allow-origin' -d 'Accept requests from browser pages of this origin, e.g. https://dash.example.com (repeatable).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo ingest" max-connections' -l 'max-connections' -d 'Serve at most this many connections at once; more wait to be accepted until one closes (default: ulimit -n less 64).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo ingest" idle-timeout' -l 'idle-timeout' -d 'Close a connection that has no request in progress, or does not read its answers, for this long (default: 60s).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo ingest" header-timeout' -l 'header-timeout' -d 'Close a connection whose request head is not complete this long after its first byte (default: 10s).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo ingest" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo ingest" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo simulate" sensors' -l 'sensors' -d 'How many sensors to simulate, one vehicle each (1 to 1000000).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo simulate" rate' -l 'rate' -d 'Readings per second from each sensor, from 0.0001 (one in under 3 hours) to 1000.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo simulate" duration' -l 'duration' -d 'Stop after this long (500ms, 90s, 15m, 1h), up to 36500d.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo simulate" count' -l 'count' -d 'Stop after this many readings in total (all sensors).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo simulate" seed' -l 'seed' -d 'Seed of the simulation; the same seed repeats the same drive.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo simulate" prefix' -l 'prefix' -d 'Sensor ids are <prefix>0 to <prefix>N-1.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo simulate" start' -l 'start' -d 'Time stamped on the first reading.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo simulate" stdout' -l 'stdout' -d 'Write the readings to stdout as NDJSON, one canonical JSON object per line.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo simulate" via' -l 'via' -d 'POST the readings as JSON arrays to the ingestion API at this URL.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo simulate" batch' -l 'batch' -d 'Readings per POST with --via, 1 to 100000 (default: 500).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo simulate" b brokers' -s 'b' -l 'brokers' -d 'Kafka bootstrap servers, host:port[,host:port…].' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo simulate" t topic' -s 't' -l 'topic' -d 'The readings topic.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo simulate"' -s 'X' -d 'A librdkafka property, repeatable (as in kcat).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo simulate" connect-timeout' -l 'connect-timeout' -d 'How long to keep retrying when no broker answers at startup (e.g. 30s, 2m; at most 24h).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo simulate" partitions' -l 'partitions' -d 'Partitions of the topic when it has to be created, 1 to 10000.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo simulate" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo simulate" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo consume" -eq 1' -fa 'postgres' -d 'Write the readings topic to PostgreSQL (speed_readings), exactly once.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo consume" -eq 1' -fa 'latest' -d 'Keep each sensor\'s latest reading and rolling statistics in the compacted topic speed-latest.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo consume" -eq 1' -fa 'stdout' -d 'Write the readings topic to standard output, as NDJSON or CSV, for pipelines.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume postgres" b brokers' -s 'b' -l 'brokers' -d 'Kafka bootstrap servers, host:port[,host:port…].' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume postgres" t topic' -s 't' -l 'topic' -d 'The readings topic.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume postgres"' -s 'X' -d 'A librdkafka property, repeatable (as in kcat).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume postgres" connect-timeout' -l 'connect-timeout' -d 'How long to keep retrying when no broker answers at startup (e.g. 30s, 2m; at most 24h).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume postgres" d database-url' -s 'd' -l 'database-url' -d 'PostgreSQL connection URL or conninfo string.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume postgres" group' -l 'group' -d 'The consumer group; its offsets are kept in PostgreSQL (speedo_consumer_offsets).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume postgres" batch-size' -l 'batch-size' -d 'Store a batch once it holds this many records (1 to 1000000)…' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume postgres" batch-interval' -l 'batch-interval' -d '…or once its first record has waited this long, whichever comes first (e.g. 200ms, 1s; at most 1h).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume postgres" log-interval' -l 'log-interval' -d 'How often to report throughput and lag on stderr.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume postgres" exit-at-end' -l 'exit-at-end' -d 'Stop (exit 0) once every assigned partition has been read to its end and stored; for backfills and tests. Only the partitions assigned to this member count: run it alone in its group (a member that died less than its session timeout ago still holds its share).'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume postgres" metrics-listen' -l 'metrics-listen' -d 'Serve GET /metrics and the probes (/livez, /readyz) on this address (host:port; port 0 picks a free one, shown on stderr).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume postgres" on-gap' -l 'on-gap' -d 'When records were removed from the topic before they were stored: record the gap and go on, or stop (exit 65).' -rfka 'record stop'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume postgres" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume postgres" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume latest" b brokers' -s 'b' -l 'brokers' -d 'Kafka bootstrap servers, host:port[,host:port…].' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume latest" t topic' -s 't' -l 'topic' -d 'The readings topic.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume latest"' -s 'X' -d 'A librdkafka property, repeatable (as in kcat).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume latest" connect-timeout' -l 'connect-timeout' -d 'How long to keep retrying when no broker answers at startup (e.g. 30s, 2m; at most 24h).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume latest" group' -l 'group' -d 'The consumer group; its offsets are committed to Kafka.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume latest" metrics-listen' -l 'metrics-listen' -d 'Serve GET /metrics and the probes (/livez, /readyz) on this address (host:port; port 0 picks a free one, shown on stderr).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume latest" max-rate' -l 'max-rate' -d 'At most this many records per second per sensor, from 0.001 to 1000.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume latest" window' -l 'window' -d 'The span of the rolling statistics, by event time, in whole seconds from 1s to 24h (e.g. 60s, 5m).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume latest" exit-at-end' -l 'exit-at-end' -d 'Stop (exit 0) once every assigned partition has been read to its end and every state was published and acknowledged; for tests and backfills. Run it alone in its group.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume latest" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume latest" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume stdout" b brokers' -s 'b' -l 'brokers' -d 'Kafka bootstrap servers, host:port[,host:port…].' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume stdout" t topic' -s 't' -l 'topic' -d 'The readings topic.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume stdout"' -s 'X' -d 'A librdkafka property, repeatable (as in kcat).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume stdout" connect-timeout' -l 'connect-timeout' -d 'How long to keep retrying when no broker answers at startup (e.g. 30s, 2m; at most 24h).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume stdout" format' -l 'format' -d 'Output format: ndjson or csv.' -rfka 'ndjson csv'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume stdout" from' -l 'from' -d 'Where to start: beginning, end, or stored (the group\'s committed offsets).' -rfka 'beginning end stored'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume stdout" group' -l 'group' -d 'Read as a member of this consumer group and commit offsets after writing (at least once).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume stdout" exit-at-end' -l 'exit-at-end' -d 'Stop (exit 0) once every partition read has been read to its end.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume stdout" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo consume stdout" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo watch" window' -l 'window' -d 'How much history the sparklines show, from 1s to 24h (e.g. 30s, 5m).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo watch" stale' -l 'stale' -d 'A sensor silent this long is shown as stale.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo watch" source' -l 'source' -d 'Where readings come from: latest (speed-latest) or events (the readings topic).' -rfka 'latest events'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo watch" sensors' -l 'sensors' -d 'Only sensors whose id matches: * any characters, ? one, commas between patterns.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo watch" once' -l 'once' -d 'Print one plain-text frame to stdout and exit; needs no terminal.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo watch" columns' -l 'columns' -d 'The width of the --once frame, 20 to 1000.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo watch" b brokers' -s 'b' -l 'brokers' -d 'Kafka bootstrap servers, host:port[,host:port…].' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo watch" t topic' -s 't' -l 'topic' -d 'The readings topic.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo watch"' -s 'X' -d 'A librdkafka property, repeatable (as in kcat).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo watch" connect-timeout' -l 'connect-timeout' -d 'How long to keep retrying when no broker answers at startup (e.g. 30s, 2m; at most 24h).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo watch" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo watch" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo gateway" b brokers' -s 'b' -l 'brokers' -d 'Kafka bootstrap servers, host:port[,host:port…].' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo gateway" t topic' -s 't' -l 'topic' -d 'The readings topic.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo gateway"' -s 'X' -d 'A librdkafka property, repeatable (as in kcat).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo gateway" connect-timeout' -l 'connect-timeout' -d 'How long to keep retrying when no broker answers at startup (e.g. 30s, 2m; at most 24h).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo gateway" listen' -l 'listen' -d 'The address to serve on; port 0 picks a free port (the address in use is logged on stderr).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo gateway" token-file' -l 'token-file' -d 'Require this token (the file\'s content, trimmed) on /ws/speed and /metrics.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo gateway"' -l 'allow-host' -d 'Also answer requests whose Host is this name (repeatable; * accepts any Host).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo gateway"' -l 'allow-origin' -d 'Accept requests from browser pages of this origin, e.g. https://dash.example.com (repeatable).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo gateway" max-connections' -l 'max-connections' -d 'Serve at most this many connections at once; more wait to be accepted until one closes (default: ulimit -n less 64).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo gateway" idle-timeout' -l 'idle-timeout' -d 'Close a connection that has no request in progress, or does not read its answers, for this long (default: 60s).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo gateway" header-timeout' -l 'header-timeout' -d 'Close a connection whose request head is not complete this long after its first byte (default: 10s).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo gateway" max-lag' -l 'max-lag' -d 'Close a client whose oldest undelivered update has waited longer than this.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo gateway" ping-interval' -l 'ping-interval' -d 'Ping idle clients this often; one that does not answer in time is closed.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo gateway" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo gateway" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo dev" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo dev" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo dev" -eq 1' -fa 'up' -d 'Start the local broker and PostgreSQL; harmless when they already run.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo dev" -eq 1' -fa 'down' -d 'Stop the local broker and PostgreSQL.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo dev" -eq 1' -fa 'status' -d 'Say what of the local stack runs.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo dev" -eq 1' -fa 'env' -d 'Print SPEEDO_BROKERS and SPEEDO_DATABASE_URL of the local stack, for eval.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo dev up" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo dev up" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo dev down" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo dev down" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo dev status" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo dev status" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo dev env" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo dev env" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo status" b brokers' -s 'b' -l 'brokers' -d 'Kafka bootstrap servers, host:port[,host:port…].' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo status" t topic' -s 't' -l 'topic' -d 'The readings topic.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo status"' -s 'X' -d 'A librdkafka property, repeatable (as in kcat).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo status" d database-url' -s 'd' -l 'database-url' -d 'PostgreSQL connection URL or conninfo string.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo status" top' -l 'top' -d 'How many sensors to list (0 to 100000), those with the most readings first.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo status" timeout' -l 'timeout' -d 'How long to keep retrying an unreachable broker or database.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo status" check' -l 'check' -d 'One line and a monitoring-plugin exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), for checks.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo status" max-lag' -l 'max-lag' -d 'With --check: records the writers have not stored yet, over every partition.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo status" max-dlq' -l 'max-dlq' -d 'With --check: records in the dead-letter topic (the topic plus .dlq).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo status" max-silence' -l 'max-silence' -d 'With --check: how long a sensor heard from in the last 7 days may stay quiet (durations: 90s, 5m, 1h).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo status" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo status" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo history" since' -l 'since' -d 'Start of the range (inclusive): a duration back from now (90s, 15m, 1h, 7d), an RFC 3339 time or @EPOCH.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo history" until' -l 'until' -d 'End of the range (exclusive), written like --since.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo history" bucket' -l 'bucket' -d 'Aggregate per bucket of this length (e.g. 1m, 1h), from 1ms to 36500d.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo history" format' -l 'format' -d 'Output format.' -rfka 'table csv ndjson json'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo history" limit' -l 'limit' -d 'Print at most this many rows (readings or buckets), 1 or more.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo history" plot' -l 'plot' -d 'Draw a chart (km/h over time) per sensor instead of printing rows; --bucket plots the averages.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo history" parallel' -l 'parallel' -d 'Read the range as this many time slices over as many connections at once, 1 to 16 (PostgreSQL runs each query on one core).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo history" exact' -l 'exact' -d 'With --bucket: buckets from exactly --since, out of the raw rows (an exact 95th percentile), not the rollups.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo history" d database-url' -s 'd' -l 'database-url' -d 'PostgreSQL connection URL or conninfo string.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo history" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo history" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo replay" since' -l 'since' -d 'Start of the range (inclusive): a duration back from now (90s, 15m, 1h, 7d), an RFC 3339 time or @EPOCH.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo replay" until' -l 'until' -d 'End of the range (exclusive), written like --since.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo replay"' -l 'sensor' -d 'Only this sensor\'s readings (repeatable; default: all).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo replay" to' -l 'to' -d 'stdout, postgres or topic:NAME.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo replay" pace' -l 'pace' -d 'max, or the recorded cadence sped up: 1x, 10x, 0.5x (from 0.001x to 1000000x).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo replay" format' -l 'format' -d 'Format on stdout.' -rfka 'ndjson csv'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo replay" b brokers' -s 'b' -l 'brokers' -d 'Kafka bootstrap servers, host:port[,host:port…].' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo replay" t topic' -s 't' -l 'topic' -d 'The readings topic.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo replay"' -s 'X' -d 'A librdkafka property, repeatable (as in kcat).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo replay" connect-timeout' -l 'connect-timeout' -d 'How long to keep retrying when no broker answers at startup (e.g. 30s, 2m; at most 24h).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo replay" d database-url' -s 'd' -l 'database-url' -d 'PostgreSQL connection URL or conninfo string.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo replay" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo replay" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo verify" since' -l 'since' -d 'Start of the range (inclusive), written as for replay (default: everything the topic holds).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo verify" until' -l 'until' -d 'End of the range (exclusive), written like --since.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo verify"' -l 'sensor' -d 'Only this sensor\'s readings and rows (repeatable; default: all).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo verify" group' -l 'group' -d 'The consume postgres group whose stored offsets say how far the history is written.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo verify" format' -l 'format' -d 'Format of the findings on stdout.' -rfka 'table ndjson'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo verify" b brokers' -s 'b' -l 'brokers' -d 'Kafka bootstrap servers, host:port[,host:port…].' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo verify" t topic' -s 't' -l 'topic' -d 'The readings topic.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo verify"' -s 'X' -d 'A librdkafka property, repeatable (as in kcat).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo verify" connect-timeout' -l 'connect-timeout' -d 'How long to keep retrying when no broker answers at startup (e.g. 30s, 2m; at most 24h).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo verify" d database-url' -s 'd' -l 'database-url' -d 'PostgreSQL connection URL or conninfo string.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo verify" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo verify" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo db" -eq 1' -fa 'prune' -d 'Drop the daily partitions of speed_readings older than a retention age.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo db" -eq 1' -fa 'gaps' -d 'List the records the history is missing because the brokers removed them first.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo db" -eq 1' -fa 'reset-offsets' -d 'Set where a `consume postgres` group resumes reading the topic.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo db" -eq 1' -fa 'rollup' -d 'Show the per-sensor rollups of the history, or rebuild them from the rows.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db prune" older-than' -l 'older-than' -d 'Retention age: drop partitions whose whole day ended at least this long ago (e.g. 7d, 12h, 2w), from 1s to 36500d.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db prune" dry-run' -l 'dry-run' -d 'List the partitions that would be dropped, with their rows; change nothing.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db prune" with-rollups' -l 'with-rollups' -d 'Also delete the rollups\' buckets of the days dropped (by default they stay, for history --bucket).'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db prune" d database-url' -s 'd' -l 'database-url' -d 'PostgreSQL connection URL or conninfo string.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db prune" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db prune" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db gaps" all' -l 'all' -d 'Also list gaps acknowledged before.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db gaps" acknowledge' -l 'acknowledge' -d 'Mark the gaps listed as acknowledged: `status --check` stops counting them.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db gaps" d database-url' -s 'd' -l 'database-url' -d 'PostgreSQL connection URL or conninfo string.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db gaps" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db gaps" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db reset-offsets" group' -l 'group' -d 'The consumer group whose offsets to set.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db reset-offsets" to' -l 'to' -d 'earliest, latest, or an offset of 0 or more (with --partition).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db reset-offsets"' -l 'partition' -d 'Only this partition, 0 or more (repeatable); default: every partition of the topic.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db reset-offsets" b brokers' -s 'b' -l 'brokers' -d 'Kafka bootstrap servers, host:port[,host:port…].' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db reset-offsets" t topic' -s 't' -l 'topic' -d 'The readings topic.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db reset-offsets"' -s 'X' -d 'A librdkafka property, repeatable (as in kcat).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db reset-offsets" connect-timeout' -l 'connect-timeout' -d 'How long to keep retrying when no broker answers at startup (e.g. 30s, 2m; at most 24h).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db reset-offsets" d database-url' -s 'd' -l 'database-url' -d 'PostgreSQL connection URL or conninfo string.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db reset-offsets" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db reset-offsets" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db rollup" rebuild' -l 'rebuild' -d 'Recompute the rollups from the rows from --since on.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db rollup" since' -l 'since' -d 'With --rebuild: where to start, written as for history (e.g. 7d, 2024-05-01T00:00:00Z).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db rollup" d database-url' -s 'd' -l 'database-url' -d 'PostgreSQL connection URL or conninfo string.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db rollup" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo db rollup" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo config" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo config" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_positional "speedo config" -eq 1' -fa 'show' -d 'Print every setting in effect and where it came from; passwords are masked.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo config show" b brokers' -s 'b' -l 'brokers' -d 'Kafka bootstrap servers, host:port[,host:port…].' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo config show" t topic' -s 't' -l 'topic' -d 'The readings topic.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo config show"' -s 'X' -d 'A librdkafka property, repeatable (as in kcat).' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo config show" d database-url' -s 'd' -l 'database-url' -d 'PostgreSQL connection URL or conninfo string.' -rfka ''
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo config show" version' -l 'version' -d 'Show the version.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo config show" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'speedo' -n '__speedo_should_offer_completions_for_flags_or_options "speedo help" version' -l 'version' -d 'Show the version.'
