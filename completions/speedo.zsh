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
            'dev:Run the embedded local stack: a Kafka-protocol broker and a private PostgreSQL.'
            'status:Show brokers, topics, consumer lag and what PostgreSQL holds.'
            'consume:Read the readings topic as a consumer group and write it somewhere.'
            'help:Show subcommand help information.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        dev|status|consume|help)
            "_speedo_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

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
        '--top[How many sensors to list, those with the most readings first.]:top:'
        '--timeout[How long to keep retrying an unreachable broker or database.]:duration:'
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
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        postgres)
            "_speedo_consume_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_speedo_consume_postgres() {
    local -i ret=1
    local -ar arg_specs=(
        '(-b --brokers)'{-b,--brokers}'[Kafka bootstrap servers, host\:port\[,host\:port…\].]:host\:port:'
        '(-t --topic)'{-t,--topic}'[The readings topic.]:name:'
        '*-X[A librdkafka property, repeatable (as in kcat).]:key=value:'
        '(-d --database-url)'{-d,--database-url}'[PostgreSQL connection URL or conninfo string.]:url:'
        '--group[The consumer group; its offsets are kept in PostgreSQL (speedo_consumer_offsets).]:id:'
        '--batch-size[Store a batch once it holds this many records…]:records:'
        '--batch-interval[…or once its first record has waited this long, whichever comes first (e.g. 200ms, 1s).]:duration:'
        '--log-interval[How often to report throughput and lag on stderr.]:duration:'
        '--exit-at-end[Stop (exit 0) once every assigned partition has been read to its end and stored; for backfills and tests. Only the partitions assigned to this member count\: run it alone in its group (a member that died less than its session timeout ago still holds its share).]'
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
