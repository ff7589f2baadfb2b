#!/usr/bin/env bash
# experiments/run.sh -- run experiment sweeps of dmutex-sim, aggregate, draw.
#
#   experiments/run.sh [OPTIONS] [EXPERIMENT ...]      (default: every experiment)
#
# An EXPERIMENT is a built-in name (experiments/NAME.exp) or the path of your
# own definition, e.g. ~/mine.exp; its figure script is mine.gp next to it,
# else analysis/mine.gp (experiments/README.md, "Your own experiment").
#
#   --quick               reduced sizes (quick_* values of each definition);
#                         output in results/quick instead of results/full
#   --out DIR             output directory
#   --sim PATH            the simulator (default: $DM_SIM, or ./dmutex-sim at the top)
#   -j, --jobs N          parallel jobs (default: every core; with
#                         --sshloginfile, each host's own count)
#   --sshloginfile FILE   spread jobs over the hosts in FILE (GNU parallel's
#                         format); each host needs this tree, built, at the same path
#   --fresh               forget earlier progress of these experiments
#   --plan                only write each experiment's job list (for experiments/slurm.sbatch)
#   --collect             only collect finished jobs, aggregate and draw
#   --no-figures          leave out the gnuplot step
#   --list                list the experiments and what each answers
#
# For each experiment NAME it leaves in the output directory:
#   NAME-raw.csv      one row per run: experiment, the swept parameters, seed,
#                     exit (dmutex-sim's status: 1 = a violation was found),
#                     the recorded summary keys and derived metrics
#   NAME.csv          per point and metric: mean, sd, runs, 95% interval (by the
#                     metric's kind: analysis/metric-kinds.txt), unsafe runs
#   NAME*.png/.svg    the figures (when gnuplot is installed)
#   NAME.PENDING      instead of the above, when dmutex-sim lacks a feature the
#                     experiment needs (what is missing); NAME.PARTIAL when
#                     only some swept values had to be left out
#   .work/NAME/       job list, GNU parallel joblog, per-job output (resume state)
# Interrupt at any time; the same command resumes.
set -u
DM_PROG=run.sh
# shellcheck source=experiments/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() { sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//p}' "$0"; }

scale=full out= sim=${DM_SIM:-} jobs= sshloginfile= fresh=0 mode=run figures=1
exps=()
while [ $# -gt 0 ]; do
    case $1 in
        --quick) scale=quick; shift ;;
        --out) out=$2; shift 2 ;;
        --sim) sim=$2; shift 2 ;;
        -j | --jobs) jobs=$2; shift 2 ;;
        --sshloginfile) sshloginfile=$2; shift 2 ;;
        --fresh) fresh=1; shift ;;
        --plan) mode=plan; shift ;;
        --collect) mode=collect; shift ;;
        --no-figures) figures=0; shift ;;
        --list) mode=list; shift ;;
        -h | --help) usage; exit 0 ;;
        -*) echo "run.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
        *) exps+=("$1"); shift ;;
    esac
done
[ ${#exps[@]} -gt 0 ] || mapfile -t exps < <(dm_all_experiments)

if [ "$mode" = list ]; then
    for e in "${exps[@]}"; do
        (
            dm_load "$e" full
            # title and question are optional in a user's own definition.
            printf '%s (%s)\n' "$name" "${title:-$dm_def}"
            [ -z "${question:-}" ] || printf '%s\n' "$question" | sed 's/^/    /'
        )
    done
    exit 0
fi

[ -n "$sim" ] || sim=$DM_ROOT/dmutex-sim
[ -x "$sim" ] || dm_die "no simulator at $sim (build it first: make)"
case $sim in /*) ;; *) sim=$(cd "$(dirname "$sim")" && pwd)/$(basename "$sim") ;; esac
[ -n "$out" ] || out=results/$scale
mkdir -p "$out" || exit 2
out=$(cd "$out" && pwd)
# Every job of a sweep must run the same simulator, even if the tree is
# rebuilt meanwhile: run a snapshot of the binary (named by its checksum),
# except across machines, where each host runs its own build at $sim.
if [ -z "$sshloginfile" ] && [ "$mode" != list ]; then
    snap=$out/.work/bin/dmutex-sim-$(cksum <"$sim" | cut -d' ' -f1)
    if [ ! -x "$snap" ]; then
        # A temporary name of this run's own: two runs started at once into
        # one output directory shared "$snap.tmp", and one failed its mv.
        mkdir -p "$out/.work/bin" && cp "$sim" "$snap.tmp.$$" && mv -f "$snap.tmp.$$" "$snap" ||
            dm_die "cannot copy $sim to $out/.work/bin"
    fi
    sim=$snap
fi
[ -z "$sshloginfile" ] || [ -f "$sshloginfile" ] || dm_die "no sshloginfile $sshloginfile"
export DM_SIM=$sim   # definitions list the simulator's registries (dm_registry)

have_parallel=0
[ -z "${DM_NO_PARALLEL:-}" ] && command -v parallel >/dev/null 2>&1 && have_parallel=1
if [ "$have_parallel" -eq 0 ] && [ "$mode" = run ]; then
    [ -z "$sshloginfile" ] || dm_die "--sshloginfile needs GNU parallel (apt-get install parallel)"
    dm_note "GNU parallel not found: running jobs with xargs -P on this machine"
fi
ncores=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)

# run_jobs NAME WORK: execute the job list, resumably.
run_jobs() {
    local name=$1 work=$2 job="$DM_ROOT/experiments/job.sh" rc
    if [ "$have_parallel" -eq 1 ]; then
        local popts=(--will-cite --colsep ' ' --joblog "$work/joblog" --results "$work/out/{#}")
        # --resume-failed: skip the jobs the joblog says finished, and run
        # again those that failed or were killed by an interruption.
        popts+=(--resume-failed)
        [ -t 2 ] && popts+=(--bar)
        [ -n "$jobs" ] && popts+=(-j "$jobs")
        [ -n "$sshloginfile" ] && popts+=(--sshloginfile "$sshloginfile")
        parallel "${popts[@]}" "$job" --sim "$sim" --scale "$scale" --exp "$dm_def" \
            :::: "$work/jobs.txt" >/dev/null
        rc=$?
    else
        awk '{ print "--seq", NR, $0 }' "$work/jobs.txt" |
            xargs -P "${jobs:-$ncores}" -L 1 "$job" --sim "$sim" --scale "$scale" --exp "$dm_def" \
                --outdir "$work/out"
        rc=$?
    fi
    return "$rc"
}

# collect NAME WORK NJOBS HEADER: the finished jobs' rows, in job order.
collect() {
    local name=$1 work=$2 njobs=$3 header=$4 files=() i
    for ((i = 1; i <= njobs; i++)); do files+=("$work/out/$i"); done
    {
        printf '%s\n' "$header"
        awk 'function flush() { if (last == "#ok") printf "%s", buf; buf = ""; last = "" }
             FNR == 1 { flush() }
             { last = $0; if ($0 !~ /^#/) buf = buf $0 "\n" }
             END { flush() }' "${files[@]}" 2>/dev/null
    } >"$out/$name-raw.csv.tmp"
    mv -f "$out/$name-raw.csv.tmp" "$out/$name-raw.csv"
    local f
    for f in "${files[@]}"; do
        [ -f "$f" ] && tail -n 1 "$f"
    done | grep -c '^#ok$'
    # (the count of finished jobs is this function's output)
}

failed=0
for e in "${exps[@]}"; do
    (
        dm_load "$e" "$scale"
        work=$out/.work/$name
        rm -f "$out/$name.PENDING" "$out/$name.PARTIAL"
        dm_check_features "$sim"
        npoints=$(dm_points | grep -c .)
        if [ -n "$missing" ] || [ "$npoints" -eq 0 ]; then
            {
                echo "$name: pending: dmutex-sim lacks what this experiment needs:"
                for f in $missing; do echo "  - $(dm_feature_text "$f")"; done
                for pf in $partial; do echo "  - for ${pf%%:*}: $(dm_feature_text "${pf#*:}")"; done
            } >"$out/$name.PENDING"
            rm -f "$out/$name.csv" "$out/$name-raw.csv" "$out/$name".png "$out/$name".svg "$out/$name"-*.png "$out/$name"-*.svg
            sed 's/^/run.sh: /' "$out/$name.PENDING" >&2
            exit 0
        fi
        if [ -n "$partial" ]; then
            {
                echo "$name: partial: swept values left out until dmutex-sim has them:"
                for pf in $partial; do echo "  - ${pf%%:*}: $(dm_feature_text "${pf#*:}")"; done
            } >"$out/$name.PARTIAL"
            sed 's/^/run.sh: /' "$out/$name.PARTIAL" >&2
        fi

        if declare -F custom_run >/dev/null; then
            # Not a sweep (the timeline): the definition runs itself.
            [ "$mode" = run ] || exit 0
            echo "run.sh: $name ($scale)" >&2
            custom_run "$out" "$sim"
            exit $?
        fi
        mkdir -p "$work/out" || exit 2
        dm_jobs >"$work/jobs.txt.new"
        # What the results depend on: the job list, the simulator binary, the
        # definition and the job script. Change any, and the sweep starts afresh.
        sig=$(cat "$work/jobs.txt.new" "$sim" "$dm_def" \
            "$DM_ROOT/experiments/job.sh" "$DM_ROOT/experiments/common.sh" | cksum)
        if [ "$mode" = collect ]; then
            rm -f "$work/jobs.txt.new"
            [ -f "$work/jobs.txt" ] || dm_die "$name: nothing to collect in $work (run or --plan first)"
            [ "$(cat "$work/signature" 2>/dev/null)" = "$sig $scale" ] ||
                dm_note "$name: warning: the jobs in $work were planned with another sweep, simulator or scripts"
        elif [ "$fresh" -eq 1 ] || [ ! -f "$work/jobs.txt" ] ||
            [ "$(cat "$work/signature" 2>/dev/null)" != "$sig $scale" ]; then
            [ -f "$work/jobs.txt" ] && [ "$fresh" -eq 0 ] &&
                dm_note "$name: the sweep, the simulator or the scripts changed; starting afresh"
            rm -rf "$work/out" "$work/joblog"
            mkdir -p "$work/out"
            mv -f "$work/jobs.txt.new" "$work/jobs.txt"
            echo "$sig $scale" >"$work/signature"
        else
            rm -f "$work/jobs.txt.new"
        fi
        # For experiments/slurm.sbatch: how to run this list.
        printf 'sim=%q\nscale=%q\nexp=%q\n' "$sim" "$scale" "$dm_def" >"$work/env"
        njobs=$(grep -c . "$work/jobs.txt")
        header="experiment,$(echo $params | tr ' ' ','),seed,exit,$(echo $metrics | tr ' ' ',')"
        if [ "$mode" = plan ]; then
            echo "$name: $njobs jobs ($npoints points x $seeds seeds, $batch per job) in $work/jobs.txt"
            echo "  sbatch --array=0-$(( (njobs + 9) / 10 - 1 ))%50 $DM_ROOT/experiments/slurm.sbatch $work 10"
            qflag=; [ "$scale" = quick ] && qflag=" --quick"
            echo "  then: $0 --collect$qflag --out $out $e"
            exit 0
        fi
        rc=0
        if [ "$mode" = run ]; then
            echo "run.sh: $name: $npoints points x $seeds seeds = $njobs jobs ($scale)" >&2
            start=$(date +%s)
            run_jobs "$name" "$work"
            rc=$?
            echo "run.sh: $name: jobs took $(($(date +%s) - start)) s" >&2
        fi
        ndone=$(collect "$name" "$work" "$njobs" "$header")
        if [ "$ndone" -lt "$njobs" ]; then
            echo "run.sh: $name: $((njobs - ndone)) of $njobs jobs did not finish (see $work/out/*.err;" \
                "run the same command again to resume)" >&2
            for f in "$work"/out/*.err; do
                [ -s "$f" ] && { sed 's/^/  | /' "$f" | head -n 6 >&2; break; }
            done
            rc=1
        fi
        "$DM_ROOT/analysis/aggregate.sh" "$name" "$out" || rc=1
        if [ "$figures" -eq 1 ]; then
            "$DM_ROOT/analysis/figures.sh" "$name" "$out" "$(dirname "$dm_def")" || rc=1
        fi
        exit "$rc"
    ) || failed=$((failed + 1))
done
[ "$failed" -eq 0 ] || { echo "run.sh: $failed experiment(s) had errors" >&2; exit 1; }
exit 0
