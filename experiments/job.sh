#!/usr/bin/env bash
# experiments/job.sh -- one job of a sweep: one point, a block of seeds.
#
#   job.sh [--sim PATH] --scale quick|full --exp NAME|PATH.exp SEED0 COUNT [PARAM=VALUE ...]
#
# Runs dmutex-sim once per seed SEED0..SEED0+COUNT-1 (one process per seed,
# so that every seed gets its own summary) and prints one CSV row per run:
#   experiment,<params...>,seed,exit,<record keys...>,<derived metrics...>
# then a last line "#ok" when every run finished (exit status 0 or 1: a
# violation is a result, not an error). The runner keeps a job's output only
# when it ends in "#ok". Exit status: 0, or 2 when the simulator refused to
# run (its message on stderr).
set -u
DM_PROG=job.sh
# shellcheck source=experiments/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

sim=${DM_SIM:-$DM_ROOT/dmutex-sim}
scale=full exp= seq= outdir=
while [ $# -gt 0 ]; do
    case $1 in
        --sim) sim=$2; shift 2 ;;
        --scale) scale=$2; shift 2 ;;
        --exp) exp=$2; shift 2 ;;
        --seq) seq=$2; shift 2 ;;
        --outdir) outdir=$2; shift 2 ;;
        --) shift; break ;;
        -*) dm_die "unknown option '$1'" ;;
        *) break ;;
    esac
done
[ -n "$exp" ] && [ $# -ge 2 ] || dm_die "usage: job.sh [--sim PATH] --scale quick|full --exp NAME SEED0 COUNT [PARAM=VALUE ...]"
[ -x "$sim" ] || dm_die "no simulator at $sim (build it: make)"
seed0=$1 count=$2
shift 2

# With --outdir DIR --seq N (Slurm, and the runner without GNU parallel): write
# the rows to DIR/N atomically, and do nothing when DIR/N is already complete.
if [ -n "$outdir" ]; then
    [ -n "$seq" ] || dm_die "--outdir needs --seq"
    if [ -f "$outdir/$seq" ] && [ "$(tail -n 1 "$outdir/$seq")" = "#ok" ]; then
        exit 0
    fi
    mkdir -p "$outdir" || exit 2
    exec 3>"$outdir/$seq.tmp" 4>"$outdir/$seq.err" || exit 2
    "$0" --sim "$sim" --scale "$scale" --exp "$exp" "$seed0" "$count" "$@" >&3 2>&4
    rc=$?
    exec 3>&- 4>&-
    mv -f "$outdir/$seq.tmp" "$outdir/$seq"
    exit "$rc"
fi
export DM_SIM=$sim   # definitions list the simulator's registries (dm_registry)
dm_load "$exp" "$scale"
for _a in "$@"; do
    case $_a in
        *=*) printf -v "${_a%%=*}" '%s' "${_a#*=}" ;;
        *) dm_die "bad parameter '$_a'" ;;
    esac
done

# What the derived metrics need from the run.
need_csv=0 need_trace=0 use_lock_messages=0
for _m in $derive; do
    case $_m in
        lat_p50_ms | lat_p99_ms | lat_mean_ms | throughput | served | requests) need_csv=1 ;;
        served_a | served_b) need_csv=1 ;;
        msgs_per_acq)
            if dm_feature "$sim" lock-messages; then use_lock_messages=1; else need_trace=1; fi ;;
        violated | viol_per_hour) ;;
        *) dm_die "$exp: unknown derived metric '$_m'" ;;
    esac
done

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

# The value of KEY in a summary line (empty when absent).
key() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }

# Metrics from the per-attempt CSV (seed,node,lock,requested_at,granted_at,
# failed_at,outcome,messages): only attempts that started in the fault phase.
# served_a / served_b split served by the requester: the nodes listed in the
# definition's side_a (e.g. one side of a scripted partition), and the rest;
# these count a grant only when it came before served_upto (the cut's end),
# so that the heal gets no credit for a side that was cut off.
csv_metrics() {
    awk -F, -v dur="$duration" -v from="${served_from:-0}" -v upto="${served_upto:-$duration}" \
        -v side="${side_a:-}" '
        BEGIN { ns = split(side, s, /[ ,]+/); for (i = 1; i <= ns; i++) if (s[i] != "") ina[s[i]] = 1 }
        NR == 1 { next }
        $7 == "granted" && $4 < dur { lat[++n] = ($5 - $4) * 1000; sum += lat[n] }
        $7 == "granted" && $5 != "" && $5 < dur { thr++ }
        $4 >= from && $4 < upto && $7 != "pending" {
            req++; if ($7 == "granted") ok++
            k = ($2 in ina) ? "a" : "b"; sreq[k]++; if ($7 == "granted" && $5 < upto) sok[k]++
        }
        # Heapsort: mawk has no asort, and an insertion sort is quadratic in
        # the attempts of a run (minutes for a long run with a busy workload).
        function sift(a, i, m,   c, t) {
            while ((c = 2 * i) <= m) {
                if (c < m && a[c + 1] > a[c]) c++
                if (a[i] >= a[c]) return
                t = a[i]; a[i] = a[c]; a[c] = t; i = c
            }
        }
        function sortlat(   i, t) {
            for (i = int(n / 2); i >= 1; i--) sift(lat, i, n)
            for (i = n; i > 1; i--) { t = lat[1]; lat[1] = lat[i]; lat[i] = t; sift(lat, 1, i - 1) }
        }
        function pct(q,   k) {
            if (n == 0) return ""
            k = int(q * n + 0.999999); if (k < 1) k = 1; if (k > n) k = n
            return sprintf("%.3f", lat[k])
        }
        END {
            sortlat(); p50 = pct(0.5); p99 = pct(0.99)
            printf "lat_p50_ms=%s lat_p99_ms=%s lat_mean_ms=%s throughput=%.4f served=%s requests=%d\n",
                p50, p99, n ? sprintf("%.3f", sum / n) : "", thr / dur,
                req ? sprintf("%.5f", ok / req) : "", req
            printf "served_a=%s served_b=%s\n", sreq["a"] ? sprintf("%.5f", sok["a"] / sreq["a"]) : "",
                sreq["b"] ? sprintf("%.5f", sok["b"] / sreq["b"]) : ""
        }' "$1"
}

# Lock-protocol messages per grant in the fault phase, from the trace: the
# messages of every attempt whose outcome (GRANTED or FAILED) came in the
# fault phase, over the grants among them. Attributing by attempt (rather
# than counting what was received before the end) keeps an attempt that
# straddles the end from adding half its messages; exact when nothing is
# lost. The requester is the sender of REQUEST/YIELD/RELEASE/KEEP and the
# recipient of the arbiter's answers.
trace_metrics() {
    awk -v dur="$duration" '
        /^#/ { next }
        $3 == "recv" && $4 ~ /^(REQUEST|GRANT|FAILED|INQUIRE|YIELD|RELEASE|KEEP|KEPT|REVOKED|RECOVERING)$/ {
            split($5, ends, "->")
            req = $4 ~ /^(REQUEST|YIELD|RELEASE|KEEP)$/ ? ends[1] : ends[2]
            lock = ""; att = ""
            for (i = 6; i <= NF; i++) {
                if ($i ~ /^lock=/) lock = substr($i, 6)
                else if ($i ~ /^attempt=/) att = substr($i, 9)
            }
            sub(/^0x/, "", att)
            msgs["n" req " " lock " " att]++
        }
        ($3 == "GRANTED" || $3 == "FAILED") && $1 < dur {
            att = $5; sub(/^attempt=/, "", att); sub(/^0x/, "", att)
            ended[$2 " " $4 " " att] = 1
            if ($3 == "GRANTED") grants++
        }
        { last = $0 }
        END {
            for (k in ended) total += msgs[k]
            printf "msgs_per_acq=%s\n", grants ? sprintf("%.3f", total / grants) : ""; print last
        }'
}

# The row names the point as swept ("any" where the policy cannot matter);
# the simulator then runs the sweep's first policy.
rowpfx=$name
for _p in $params; do rowpfx="$rowpfx,${!_p}"; done
if [ "${policy:-}" = "$DM_ANY_POLICY" ]; then
    policy=$(dm_values policy | cut -d' ' -f1)
fi

status=0
for ((seed = seed0; seed < seed0 + count; seed++)); do
    args=()
    sim_args
    extra=()
    [ "$need_csv" -eq 1 ] && extra+=(--csv "$tmp/attempts.csv")
    [ "$use_lock_messages" -eq 1 ] && extra+=(--set measure.from=0)
    if [ "$need_trace" -eq 1 ]; then
        "$sim" "${args[@]}" "${extra[@]}" --seed "$seed" --trace - 2>"$tmp/err" | trace_metrics >"$tmp/out"
        rc=${PIPESTATUS[0]}
        derived=$(head -n 1 "$tmp/out")
        summary=$(tail -n 1 "$tmp/out")
    else
        "$sim" "${args[@]}" "${extra[@]}" --seed "$seed" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        summary=$(tail -n 1 "$tmp/out")
        derived=
    fi
    if [ "$rc" -gt 1 ] || ! dm_has_key "$summary" runs; then
        echo "job.sh: $exp seed $seed: dmutex-sim exited $rc: $sim ${args[*]} ${extra[*]} --seed $seed" >&2
        sed 's/^/  | /' "$tmp/err" | tail -n 5 >&2
        status=2
        break
    fi
    [ "$need_csv" -eq 1 ] && derived="$derived $(csv_metrics "$tmp/attempts.csv")"
    # The window's messages over its grants; "na" (no grant) stays empty.
    if [ "$use_lock_messages" -eq 1 ]; then
        lm=$(key "$summary" window_msgs_per_grant)
        [ "$lm" = na ] && lm=
        derived="$derived msgs_per_acq=$lm"
    fi
    derived="$derived $(awk -v s="$summary" 'BEGIN {
        n = split(s, kv, " "); for (i = 1; i <= n; i++) { split(kv[i], p, "="); v[p[1]] = p[2] }
        printf "violated=%d", (v["violations"] > 0)
        if (v["sim_seconds"] > 0) printf " viol_per_hour=%.4f", 3600 * v["violations"] / v["sim_seconds"] }')"

    row="$rowpfx,$seed,$rc"
    for _m in $record; do row="$row,$(key "$summary" "$_m")"; done
    for _m in $derive; do row="$row,$(key "$derived" "$_m")"; done
    printf '%s\n' "$row"
done
[ "$status" -eq 0 ] && echo "#ok"
exit "$status"
