#!/bin/bash

__speedo_cursor_index_in_current_word() {
    local remaining="${COMP_LINE}"

    local word
    for word in "${COMP_WORDS[@]::COMP_CWORD}"; do
        remaining="${remaining##*([[:space:]])"${word}"*([[:space:]])}"
    done

    local -ir index="$((COMP_POINT - ${#COMP_LINE} + ${#remaining}))"
    if [[ "${index}" -le 0 ]]; then
        printf 0
    else
        printf %s "${index}"
    fi
}

# positional arguments:
#
# - 1: the current (sub)command's count of positional arguments
#
# required variables:
#
# - repeating_flags: the repeating flags that the current (sub)command can accept
# - non_repeating_flags: the non-repeating flags that the current (sub)command can accept
# - repeating_options: the repeating options that the current (sub)command can accept
# - non_repeating_options: the non-repeating options that the current (sub)command can accept
# - positional_number: value ignored
# - unparsed_words: unparsed words from the current command line
#
# modified variables:
#
# - non_repeating_flags: remove flags for this (sub)command that are already on the command line
# - non_repeating_options: remove options for this (sub)command that are already on the command line
# - positional_number: set to the current positional number
# - unparsed_words: remove all flags, options, and option values for this (sub)command
__speedo_offer_flags_options() {
    local -ir positional_count="${1}"
    positional_number=0

    local was_flag_option_terminator_seen=false
    local is_parsing_option_value=false

    local -ar unparsed_word_indices=("${!unparsed_words[@]}")
    local -i word_index
    for word_index in "${unparsed_word_indices[@]}"; do
        if "${is_parsing_option_value}"; then
            # This word is an option value:
            # Reset marker for next word iff not currently the last word
            [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]] && is_parsing_option_value=false
            unset "unparsed_words[${word_index}]"
            # Do not process this word as a flag or an option
            continue
        fi

        local word="${unparsed_words["${word_index}"]}"
        if ! "${was_flag_option_terminator_seen}"; then
            case "${word}" in
            --)
                unset "unparsed_words[${word_index}]"
                # by itself -- is a flag/option terminator, but if it is the last word, it is the start of a completion
                if [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]]; then
                    was_flag_option_terminator_seen=true
                fi
                continue
                ;;
            -*)
                # ${word} is a flag or an option
                # If ${word} is an option, mark that the next word to be parsed is an option value
                local option
                for option in "${repeating_options[@]}" "${non_repeating_options[@]}"; do
                    [[ "${word}" = "${option}" ]] && is_parsing_option_value=true && break
                done

                # Remove ${word} from ${non_repeating_flags} or ${non_repeating_options} so it isn't offered again
                local not_found=true
                local -i index
                for index in "${!non_repeating_flags[@]}"; do
                    if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                        unset "non_repeating_flags[${index}]"
                        non_repeating_flags=("${non_repeating_flags[@]}")
                        not_found=false
                        break
                    fi
                done
                if "${not_found}"; then
                    for index in "${!non_repeating_flags[@]}"; do
                        if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                            unset "non_repeating_flags[${index}]"
                            non_repeating_flags=("${non_repeating_flags[@]}")
                            break
                        fi
                    done
                fi
                unset "unparsed_words[${word_index}]"
                continue
                ;;
            esac
        fi

        # ${word} is neither a flag, nor an option, nor an option value
        if [[ "${positional_number}" -lt "${positional_count}" || "${positional_count}" -lt 0 ]]; then
            # ${word} is a positional
            ((positional_number++))
            unset "unparsed_words[${word_index}]"
        else
            if [[ -z "${word}" ]]; then
                # Could be completing a flag, option, or subcommand
                positional_number=-1
            else
                # ${word} is a subcommand or invalid, so stop processing this (sub)command
                positional_number=-2
            fi
            break
        fi
    done

    unparsed_words=("${unparsed_words[@]}")

    if\
        ! "${was_flag_option_terminator_seen}"\
        && ! "${is_parsing_option_value}"\
        && [[ ("${cur}" = -* && "${positional_number}" -ge 0) || "${positional_number}" -eq -1 ]]
    then
        COMPREPLY+=($(compgen -W "${repeating_flags[*]} ${non_repeating_flags[*]} ${repeating_options[*]} ${non_repeating_options[*]}" -- "${cur}"))
    fi
}

__speedo_add_completions() {
    local completion
    while IFS='' read -r completion; do
        COMPREPLY+=("${completion}")
    done < <(IFS=$'\n' compgen "${@}" -- "${cur}")
}

__speedo_custom_complete() {
    if [[ -n "${cur}" || -z ${COMP_WORDS[${COMP_CWORD}]} || "${COMP_LINE:${COMP_POINT}:1}" != ' ' ]]; then
        local -ar words=("${COMP_WORDS[@]}")
    else
        local -ar words=("${COMP_WORDS[@]::${COMP_CWORD}}" '' "${COMP_WORDS[@]:${COMP_CWORD}}")
    fi

    "${COMP_WORDS[0]}" "${@}" "${words[@]}"
}

_speedo() {
    local state
    state="$(shopt -p;shopt -po)"
    trap "${state//$'\n'/;}" RETURN
    shopt -s extglob
    set +o history +o posix

    local -xr SAP_SHELL=bash
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(IFS='.';printf %s "${BASH_VERSINFO[*]}")"
    local -r SAP_SHELL_VERSION

    local -r cur="${2}"
    local -r prev="${3}"

    local -i positional_number
    local -a unparsed_words=("${COMP_WORDS[@]:1:${COMP_CWORD}}")

    local -a repeating_flags=()
    local -a non_repeating_flags=(--version -h --help)
    local -a repeating_options=()
    local -a non_repeating_options=()
    __speedo_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    ingest|simulate|consume|watch|gateway|dev|status|history|replay|verify|db|config|help)
        # Offer subcommand argument completions
        "_speedo_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'ingest simulate consume watch gateway dev status history replay verify db config help' -- "${cur}"))
        ;;
    esac
}

_speedo_ingest() {
    repeating_flags=()
    non_repeating_flags=(--access-log --version -h --help)
    repeating_options=(-X --allow-host --allow-origin)
    non_repeating_options=(-b --brokers -t --topic --connect-timeout --format --reject-file --max-errors --partitions --listen --max-body --delivery-timeout --token-file --max-connections --idle-timeout --header-timeout)
    __speedo_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '-b'|'--brokers')
        return
        ;;
    '-t'|'--topic')
        return
        ;;
    '-X')
        return
        ;;
    '--connect-timeout')
        return
        ;;
    '--format')
        __speedo_add_completions -W 'ndjson'$'\n''csv'
        return
        ;;
    '--reject-file')
        return
        ;;
    '--max-errors')
        return
        ;;
    '--partitions')
        return
        ;;
    '--listen')
        return
        ;;
    '--max-body')
        return
        ;;
    '--delivery-timeout')
        return
        ;;
    '--token-file')
        return
        ;;
    '--allow-host')
        return
        ;;
    '--allow-origin')
        return
        ;;
    '--max-connections')
        return
        ;;
    '--idle-timeout')
        return
        ;;
    '--header-timeout')
        return
        ;;
    esac
}

_speedo_simulate() {
    repeating_flags=()
    non_repeating_flags=(--stdout --version -h --help)
    repeating_options=(-X)
    non_repeating_options=(--sensors --rate --duration --count --seed --prefix --start --via --batch -b --brokers -t --topic --connect-timeout --partitions)
    __speedo_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--sensors')
        return
        ;;
    '--rate')
        return
        ;;
    '--duration')
        return
        ;;
    '--count')
        return
        ;;
    '--seed')
        return
        ;;
    '--prefix')
        return
        ;;
    '--start')
        return
        ;;
    '--via')
        return
        ;;
    '--batch')
        return
        ;;
    '-b'|'--brokers')
        return
        ;;
    '-t'|'--topic')
        return
        ;;
    '-X')
        return
        ;;
    '--connect-timeout')
        return
        ;;
    '--partitions')
        return
        ;;
    esac
}

_speedo_consume() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __speedo_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    postgres|latest|stdout)
        # Offer subcommand argument completions
        "_speedo_consume_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'postgres latest stdout' -- "${cur}"))
        ;;
    esac
}

_speedo_consume_postgres() {
    repeating_flags=()
    non_repeating_flags=(--exit-at-end --version -h --help)
    repeating_options=(-X)
    non_repeating_options=(-b --brokers -t --topic --connect-timeout -d --database-url --group --batch-size --batch-interval --log-interval --metrics-listen --on-gap)
    __speedo_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-b'|'--brokers')
        return
        ;;
    '-t'|'--topic')
        return
        ;;
    '-X')
        return
        ;;
    '--connect-timeout')
        return
        ;;
    '-d'|'--database-url')
        return
        ;;
    '--group')
        return
        ;;
    '--batch-size')
        return
        ;;
    '--batch-interval')
        return
        ;;
    '--log-interval')
        return
        ;;
    '--metrics-listen')
        return
        ;;
    '--on-gap')
        __speedo_add_completions -W 'record'$'\n''stop'
        return
        ;;
    esac
}

_speedo_consume_latest() {
    repeating_flags=()
    non_repeating_flags=(--exit-at-end --version -h --help)
    repeating_options=(-X)
    non_repeating_options=(-b --brokers -t --topic --connect-timeout --group --metrics-listen --max-rate --window)
    __speedo_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-b'|'--brokers')
        return
        ;;
    '-t'|'--topic')
        return
        ;;
    '-X')
        return
        ;;
    '--connect-timeout')
        return
        ;;
    '--group')
        return
        ;;
    '--metrics-listen')
        return
        ;;
    '--max-rate')
        return
        ;;
    '--window')
        return
        ;;
    esac
}

_speedo_consume_stdout() {
    repeating_flags=()
    non_repeating_flags=(--exit-at-end --version -h --help)
    repeating_options=(-X)
    non_repeating_options=(-b --brokers -t --topic --connect-timeout --format --from --group)
    __speedo_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-b'|'--brokers')
        return
        ;;
    '-t'|'--topic')
        return
        ;;
    '-X')
        return
        ;;
    '--connect-timeout')
        return
        ;;
    '--format')
        __speedo_add_completions -W 'ndjson'$'\n''csv'
        return
        ;;
    '--from')
        __speedo_add_completions -W 'beginning'$'\n''end'$'\n''stored'
        return
        ;;
    '--group')
        return
        ;;
    esac
}

_speedo_watch() {
    repeating_flags=()
    non_repeating_flags=(--once --version -h --help)
    repeating_options=(-X)
    non_repeating_options=(--window --stale --source --sensors --columns -b --brokers -t --topic --connect-timeout)
    __speedo_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--window')
        return
        ;;
    '--stale')
        return
        ;;
    '--source')
        __speedo_add_completions -W 'latest'$'\n''events'
        return
        ;;
    '--sensors')
        return
        ;;
    '--columns')
        return
        ;;
    '-b'|'--brokers')
        return
        ;;
    '-t'|'--topic')
        return
        ;;
    '-X')
        return
        ;;
    '--connect-timeout')
        return
        ;;
    esac
}

_speedo_gateway() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=(-X --allow-host --allow-origin)
    non_repeating_options=(-b --brokers -t --topic --connect-timeout --listen --token-file --max-connections --idle-timeout --header-timeout --max-lag --ping-interval)
    __speedo_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-b'|'--brokers')
        return
        ;;
    '-t'|'--topic')
        return
        ;;
    '-X')
        return
        ;;
    '--connect-timeout')
        return
        ;;
    '--listen')
        return
        ;;
    '--token-file')
        return
        ;;
    '--allow-host')
        return
        ;;
    '--allow-origin')
        return
        ;;
    '--max-connections')
        return
        ;;
    '--idle-timeout')
        return
        ;;
    '--header-timeout')
        return
        ;;
    '--max-lag')
        return
        ;;
    '--ping-interval')
        return
        ;;
    esac
}

_speedo_dev() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __speedo_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    up|down|status|env)
        # Offer subcommand argument completions
        "_speedo_dev_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'up down status env' -- "${cur}"))
        ;;
    esac
}

_speedo_dev_up() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __speedo_offer_flags_options 0
}

_speedo_dev_down() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __speedo_offer_flags_options 0
}

_speedo_dev_status() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __speedo_offer_flags_options 0
}

_speedo_dev_env() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __speedo_offer_flags_options 0
}

_speedo_status() {
    repeating_flags=()
    non_repeating_flags=(--check --version -h --help)
    repeating_options=(-X)
    non_repeating_options=(-b --brokers -t --topic -d --database-url --top --timeout --max-lag --max-dlq --max-silence)
    __speedo_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-b'|'--brokers')
        return
        ;;
    '-t'|'--topic')
        return
        ;;
    '-X')
        return
        ;;
    '-d'|'--database-url')
        return
        ;;
    '--top')
        return
        ;;
    '--timeout')
        return
        ;;
    '--max-lag')
        return
        ;;
    '--max-dlq')
        return
        ;;
    '--max-silence')
        return
        ;;
    esac
}

_speedo_history() {
    repeating_flags=()
    non_repeating_flags=(--plot --exact --version -h --help)
    repeating_options=()
    non_repeating_options=(--since --until --bucket --format --limit --parallel -d --database-url)
    __speedo_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--since')
        return
        ;;
    '--until')
        return
        ;;
    '--bucket')
        return
        ;;
    '--format')
        __speedo_add_completions -W 'table'$'\n''csv'$'\n''ndjson'$'\n''json'
        return
        ;;
    '--limit')
        return
        ;;
    '--parallel')
        return
        ;;
    '-d'|'--database-url')
        return
        ;;
    esac
}

_speedo_replay() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=(--sensor -X)
    non_repeating_options=(--since --until --to --pace --format -b --brokers -t --topic --connect-timeout -d --database-url)
    __speedo_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--since')
        return
        ;;
    '--until')
        return
        ;;
    '--sensor')
        return
        ;;
    '--to')
        return
        ;;
    '--pace')
        return
        ;;
    '--format')
        __speedo_add_completions -W 'ndjson'$'\n''csv'
        return
        ;;
    '-b'|'--brokers')
        return
        ;;
    '-t'|'--topic')
        return
        ;;
    '-X')
        return
        ;;
    '--connect-timeout')
        return
        ;;
    '-d'|'--database-url')
        return
        ;;
    esac
}

_speedo_verify() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=(--sensor -X)
    non_repeating_options=(--since --until --group --format -b --brokers -t --topic --connect-timeout -d --database-url)
    __speedo_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--since')
        return
        ;;
    '--until')
        return
        ;;
    '--sensor')
        return
        ;;
    '--group')
        return
        ;;
    '--format')
        __speedo_add_completions -W 'table'$'\n''ndjson'
        return
        ;;
    '-b'|'--brokers')
        return
        ;;
    '-t'|'--topic')
        return
        ;;
    '-X')
        return
        ;;
    '--connect-timeout')
        return
        ;;
    '-d'|'--database-url')
        return
        ;;
    esac
}

_speedo_db() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __speedo_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    prune|gaps|reset-offsets|rollup)
        # Offer subcommand argument completions
        "_speedo_db_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'prune gaps reset-offsets rollup' -- "${cur}"))
        ;;
    esac
}

_speedo_db_prune() {
    repeating_flags=()
    non_repeating_flags=(--dry-run --with-rollups --version -h --help)
    repeating_options=()
    non_repeating_options=(--older-than -d --database-url)
    __speedo_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--older-than')
        return
        ;;
    '-d'|'--database-url')
        return
        ;;
    esac
}

_speedo_db_gaps() {
    repeating_flags=()
    non_repeating_flags=(--all --acknowledge --version -h --help)
    repeating_options=()
    non_repeating_options=(-d --database-url)
    __speedo_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-d'|'--database-url')
        return
        ;;
    esac
}

_speedo_db_reset-offsets() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=(--partition -X)
    non_repeating_options=(--group --to -b --brokers -t --topic --connect-timeout -d --database-url)
    __speedo_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--group')
        return
        ;;
    '--to')
        return
        ;;
    '--partition')
        return
        ;;
    '-b'|'--brokers')
        return
        ;;
    '-t'|'--topic')
        return
        ;;
    '-X')
        return
        ;;
    '--connect-timeout')
        return
        ;;
    '-d'|'--database-url')
        return
        ;;
    esac
}

_speedo_db_rollup() {
    repeating_flags=()
    non_repeating_flags=(--rebuild --version -h --help)
    repeating_options=()
    non_repeating_options=(--since -d --database-url)
    __speedo_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--since')
        return
        ;;
    '-d'|'--database-url')
        return
        ;;
    esac
}

_speedo_config() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __speedo_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    show)
        # Offer subcommand argument completions
        "_speedo_config_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'show' -- "${cur}"))
        ;;
    esac
}

_speedo_config_show() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=(-X)
    non_repeating_options=(-b --brokers -t --topic -d --database-url)
    __speedo_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-b'|'--brokers')
        return
        ;;
    '-t'|'--topic')
        return
        ;;
    '-X')
        return
        ;;
    '-d'|'--database-url')
        return
        ;;
    esac
}

_speedo_help() {
    repeating_flags=()
    non_repeating_flags=(--version)
    repeating_options=()
    non_repeating_options=()
    __speedo_offer_flags_options -1
}

complete -o filenames -F _speedo speedo
