# shellcheck shell=bash
# experiments/common.sh -- sourced by run.sh, job.sh, slurm.sbatch and
# timeline.sh (bash). Loads experiment definitions (experiments/*.exp),
# expands their sweeps into points and jobs, and probes dmutex-sim for the
# features an experiment needs.

# The source tree (this file lives in <root>/experiments).
DM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Names a swept parameter may not take: the runner's own variables.
DM_RESERVED="name dm_def title question params seeds batch first_seed record derive metrics needs order
  seed seed0 count status rc out tmp sim scale exp seq outdir args extra derived summary events
  mv fe lm acq row rowpfx need_csv need_trace use_lock_messages missing partial path"

# Derived for every experiment (job.sh): whether a run had a safety violation
# (0/1: the summary's violations > 0, mutual exclusion, token or fence) and its
# violations per simulated hour.
DM_SAFETY_METRICS="violated viol_per_hour"

# The value a swept policy takes at points where the policy cannot matter
# (the definition's policy_free, see dm_points): run once, labelled so.
DM_ANY_POLICY=any

dm_die() { echo "${DM_PROG:-experiments}: $*" >&2; exit 2; }
dm_note() { echo "${DM_PROG:-experiments}: $*" >&2; }

# Every experiment, in the order of the figures (the numbering of issue 6).
dm_all_experiments() {
    local f
    for f in "$DM_ROOT"/experiments/*.exp; do
        [ -e "$f" ] || continue
        (
            # shellcheck source=/dev/null
            . "$f"
            printf '%s %s\n' "${order:-99}" "$(basename "$f" .exp)"
        )
    done | sort -n | cut -d' ' -f2
}

# dm_def_path EXP: the definition's file. EXP is a built-in experiment's
# name, or the path of a user's own definition (anything with a "/" or
# ending in .exp: /path/to/mine.exp, ./mine.exp), made absolute so that
# job.sh and Slurm tasks find it from any directory.
dm_def_path() {
    local p
    case $1 in
        */* | *.exp)
            p=$1
            [ -f "$p" ] || dm_die "no experiment definition $p"
            case $p in /*) ;; *) p=$(cd "$(dirname "$p")" && pwd)/$(basename "$p") ;; esac ;;
        *)
            p=$DM_ROOT/experiments/$1.exp
            [ -f "$p" ] || dm_die "no experiment '$1' (have: $(dm_all_experiments | tr '\n' ' '); or give the path of your own .exp)" ;;
    esac
    printf '%s\n' "$p"
}

# dm_load EXP SCALE: source the definition (a name or a path, see
# dm_def_path) into this shell (call it in a subshell when loading several),
# then let quick_* variables override their full-size namesakes when SCALE
# is quick. Sets dm_def to the definition's absolute path.
dm_load() {
    local path v base
    path=$(dm_def_path "$1") || exit 2
    name=
    # shellcheck source=/dev/null
    . "$path"
    base=$(basename "$path" .exp)
    [ "$name" = "$base" ] || dm_die "$path: name=$name, expected $base (the file's name)"
    [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || dm_die "$path: bad experiment name '$name'"
    # shellcheck disable=SC2034  # used by run.sh
    dm_def=$path
    if [ "$2" = quick ]; then
        for v in $(compgen -v quick_); do
            printf -v "${v#quick_}" '%s' "${!v}"
        done
    fi
    : "${seeds:?$path: seeds not set}" "${params:?$path: params not set}"
    declare -F sim_args >/dev/null || declare -F custom_run >/dev/null ||
        dm_die "$path: no sim_args function (it sets args=(...), the simulator's arguments at one point)"
    batch=${batch:-1}
    first_seed=${first_seed:-1}
    local q
    for q in $params; do
        case " $DM_RESERVED " in
            *" $q "*) dm_die "$path: parameter name '$q' is reserved (used by the runner)" ;;
        esac
        [[ $q =~ ^[a-z][a-z0-9_]*$ ]] || dm_die "$path: bad parameter name '$q'"
    done
    record=${record:-} derive=${derive:-}
    # Every experiment records safety next to its own metrics (issue 13).
    for q in $DM_SAFETY_METRICS; do
        case " $derive " in *" $q "*) ;; *) derive="${derive:+$derive }$q" ;; esac
    done
    metrics="$record $derive"
}

# dm_registry WHAT: the simulator's built-in names of WHAT (policies,
# quorums, faults) on one line, in registry order, so that a definition
# sweeps whatever the simulator has -- a newly registered policy joins every
# experiment that sweeps policies, with no definition edited:
#   param_policy="$(dm_registry policies)"
# The simulator is $DM_SIM (run.sh and job.sh export the one they run).
dm_registry() {
    local sim=${DM_SIM:-$DM_ROOT/dmutex-sim} names
    names=$("$sim" --list "$1" 2>/dev/null) ||
        { echo "$DM_PROG: cannot list $1 with $sim (build it first: make)" >&2; return 1; }
    printf '%s\n' "${names//$'\n'/ }"
}

# Values of one swept parameter, minus those dropped as pending.
dm_values() {
    local var="param_$1" dropvar="drop_$1" v out=
    for v in ${!var}; do
        case " ${!dropvar:-} " in *" $v "*) continue ;; esac
        out="$out $v"
    done
    printf '%s\n' "${out# }"
}

# Points of the sweep: one line per point, "name=value ..." in params order.
dm_points() {
    local lines=("") p v l next
    for p in $params; do
        next=()
        for l in "${lines[@]}"; do
            for v in $(dm_values "$p"); do
                next+=("${l:+$l }$p=$v")
            done
        done
        lines=("${next[@]}")
    done
    # A definition may leave out impossible combinations with point_ok
    # (called with the point's parameters set, in a subshell). Where its
    # policy_free says every policy behaves identically by construction (no
    # fault that changes membership), the point runs once, as policy "any"
    # (job.sh runs the first policy of the sweep; tests/experiments-quick.sh
    # checks the claim on the simulator's run hashes).
    local first_policy=
    case " $params " in *" policy "*) first_policy=$(dm_values policy | cut -d' ' -f1) ;; esac
    for l in "${lines[@]}"; do
        [ -n "$l" ] || continue
        if declare -F point_ok >/dev/null; then
            ( for v in $l; do printf -v "${v%%=*}" '%s' "${v#*=}"; done; point_ok ) || continue
        fi
        if [ -n "$first_policy" ] && declare -F policy_free >/dev/null &&
            ( for v in $l; do printf -v "${v%%=*}" '%s' "${v#*=}"; done; policy_free ); then
            case " $l " in
                *" policy=$first_policy "*) l=$(printf '%s\n' " $l " | sed "s/ policy=$first_policy / policy=$DM_ANY_POLICY /; s/^ //; s/ \$//") ;;
                *) continue ;;
            esac
        fi
        printf '%s\n' "$l"
    done
}

# Jobs: "seed0 count name=value ..." -- seed blocks outermost, so that an
# interrupted sweep has some seeds at every point.
dm_jobs() {
    local s count pt
    local pts
    pts=$(dm_points)
    for ((s = first_seed; s < first_seed + seeds; s += batch)); do
        count=$batch
        ((s + count > first_seed + seeds)) && count=$((first_seed + seeds - s))
        while IFS= read -r pt; do
            [ -n "$pt" ] && printf '%s %s %s\n' "$s" "$count" "$pt"
        done <<<"$pts"
    done
}

# ---------------------------------------------------------------- features
# A feature is something dmutex-sim may not have yet. dm_feature SIM NAME
# answers 0 (present) or 1 (absent) and caches the answer for this shell.
# Probes run tiny simulations and look at the exit status and the summary.
declare -A DM_FEATURE_CACHE=()

dm_probe_summary() {
    # dm_probe_summary SIM ARGS... : the summary line of a tiny run, or
    # nothing when the simulator refused (exit status other than 0 or 1).
    local sim=$1 out rc
    shift
    out=$("$sim" --nodes 3 --duration 2 --faults none "$@" 2>/dev/null)
    rc=$?
    [ "$rc" -le 1 ] || return 1
    printf '%s\n' "$out" | tail -n 1
}

dm_has_key() { case " $1 " in *" $2="*) return 0 ;; esac; return 1; }

dm_feature() {
    local sim=$1 f=$2 s ok=1 tmp
    if [ -n "${DM_FEATURE_CACHE[$f]:-}" ]; then
        return "${DM_FEATURE_CACHE[$f]}"
    fi
    case $f in
        memberlist)      # --policy memberlist (issue 5)
            s=$(dm_probe_summary "$sim" --policy memberlist) && ok=0 ;;
        churn)           # faults.churn_p and the summary key quorum_available
            s=$(dm_probe_summary "$sim" --faults churn --set faults.churn_p=0.9) &&
                dm_has_key "$s" quorum_available && dm_has_key "$s" quorum_available_views && ok=0 ;;
        membership-metrics)  # crash detection and convergence in the summary
            s=$(dm_probe_summary "$sim" --faults scripted --set 'faults.schedule=at=1 crash=1') &&
                dm_has_key "$s" dead_s_p50 && dm_has_key "$s" converge_s_p50 &&
                dm_has_key "$s" suspect_s_mean && ok=0 ;;
        swim-keys)       # the SWIM timers as scenario keys
            s=$(dm_probe_summary "$sim" --set swim.probe_interval=1 --set swim.suspicion_mult=4) && ok=0 ;;
        liveness-view)   # time for the views to agree once the network heals
            s=$(dm_probe_summary "$sim") && dm_has_key "$s" liveness_view_max_seconds && ok=0 ;;
        timeline)        # --timeline FILE
            tmp=$(mktemp) || return 1
            if dm_probe_summary "$sim" --timeline "$tmp" >/dev/null &&
                head -n 1 "$tmp" | grep -q '^seed,kind,t_start,t_end,node,state,view_size,view_hash,tree_size,quorum_size,detail'; then
                ok=0
            fi
            rm -f "$tmp" ;;
        lock-messages)   # lock-protocol messages per grant of the fault phase alone
            # ([measure] from = 0: the window is the whole fault phase; the
            # liveness phase, where every node asks at once, is outside it)
            s=$(dm_probe_summary "$sim" --set measure.from=0) &&
                dm_has_key "$s" window_msgs_per_grant && ok=0 ;;
        *) dm_die "unknown feature '$f'" ;;
    esac
    DM_FEATURE_CACHE[$f]=$ok
    return "$ok"
}

# What each feature is, for the PENDING notes.
dm_feature_text() {
    case $1 in
        memberlist) echo "dmutex-sim --policy memberlist" ;;
        churn) echo "churn mode: --faults churn, faults.churn_p, faults.churn_up_mean; summary keys quorum_available, quorum_available_views" ;;
        membership-metrics) echo "membership metrics in the summary (suspect_s_mean, dead_s_p50, converge_s_p50, ...)" ;;
        swim-keys) echo "scenario keys swim.probe_interval and swim.suspicion_mult" ;;
        liveness-view) echo "summary key liveness_view_max_seconds (views agree after the heal)" ;;
        timeline) echo "dmutex-sim --timeline FILE" ;;
        lock-messages) echo "summary key window_msgs_per_grant and the key measure.from" ;;
        *) echo "$1" ;;
    esac
}

# dm_check_features SIM: for the loaded definition, sets
#   missing  -- features in $needs that are absent (the experiment is pending)
#   partial  -- "param=value:feature" for swept values dropped as pending
# and the drop_<param> lists that dm_values honours.
dm_check_features() {
    local sim=$1 f p v var
    missing= partial=
    for f in ${needs:-}; do
        dm_feature "$sim" "$f" || missing="$missing $f"
    done
    missing=${missing# }
    for p in $params; do
        var="param_$p"
        for v in ${!var}; do
            local nv="needs_${p}_${v//[^A-Za-z0-9_]/_}"
            for f in ${!nv:-}; do
                if ! dm_feature "$sim" "$f"; then
                    printf -v "drop_$p" '%s' "$(eval echo "\${drop_$p:-}") $v"
                    partial="$partial $p=$v:$f"
                    break
                fi
            done
        done
    done
    partial=${partial# }
}
