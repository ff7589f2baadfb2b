# analysis/explain.awk -- the first safety violation of one run, taken apart:
# who held, since when, with which quorum, what each node saw and which
# faults were in force. Run by experiments/explain.sh:
#
#   awk -v out=EXPLAIN.csv -f explain.awk TRACE.txt TIMELINE.csv
#
# Input: the run's --trace text (one run) and its --timeline CSV. The trace
# is the only record of who granted whom (REQUEST/GRANT/KEEP/KEPT lines) and
# of the exact moments of view changes; the timeline adds what the trace
# does not print (each node's tree size and configuration epoch, and the
# fault intervals). Writes OUT with the header
#
#   kind,node,peer,t_start,t_end,role,token,quorum,view_size,tree_size,epoch,detail
#
# kind: violation (the first safety violation; node = the second holder,
# peer = the first), request (an attempt's wait, role first/second), hold
# (every grant of the run, role first/second for the two holders, other for
# the rest; quorum = the arbiters whose KEPT it had when GRANTED or whose
# grant id is its token (the fence round skips those), and itself
# when the trace's SELF-GRANT line says it was its own arbiter), quorum
# (one row per arbiter of the two holders: node = the arbiter, peer = the
# holder, t_start = when its KEPT arrived, token = its grant id), view (a
# node's state, view size, tree size and epoch, one row per interval over
# which they did not change), fault (a node's: crash, wipe, pause, slow,
# skew), network (faults without a node: partition, loss, dup, reorder) and
# phase (the timeline's fault and phase rows). Prints
# the summary on stdout; exits 3 when the trace holds no safety violation.
function rest(from,    s, i) {
    s = $from
    for (i = from + 1; i <= NF; i++) s = s " " $i
    return s
}
# The number after `key` (e.g. "node ", "token ") in s, or "".
function after(s, key,    i) {
    i = index(s, key)
    if (!i) return ""
    s = substr(s, i + length(key))
    match(s, /^[0-9]+/)
    return RSTART ? substr(s, 1, RLENGTH) : ""
}
function field(name,    i) {
    for (i = 4; i <= NF; i++)
        if (index($i, name "=") == 1) return substr($i, length(name) + 2)
    return ""
}
function hexid(a) { sub(/^0x/, "", a); return a }
function list_add(l, x) { return l == "" ? x : l " " x }
# x into the ascending list of numbers l.
function sorted_add(l, x,    n, i, r, p, done) {
    n = split(l, p, " "); r = ""
    for (i = 1; i <= n; i++) {
        if (!done && x + 0 < p[i] + 0) { r = list_add(r, x); done = 1 }
        r = list_add(r, p[i])
    }
    return done ? r : list_add(r, x)
}
function fmt(t) { return sprintf("%.6f", t) }
function braces(l) { return "{" l "}" }
function nosep(s) { gsub(/,/, ";", s); return s }

FNR == 1 { file++ }

# ---- the trace -------------------------------------------------------------
file == 1 && /^#/ { next }
file == 1 {
    t = $1 + 0
    if (t > tend) tend = t
    if ($2 !~ /^n[0-9]+$/) next
    k = substr($2, 2) + 0
    if (k + 1 > nn) nn = k + 1
    what = $3
    if (what == "lock" && $5 == "->" && $6 == "started") {
        reqt[k, $4, hexid(field("attempt"))] = t
    } else if (what == "lock" && $6 == "->" && $7 == "started") {     # "(liveness)"
        reqt[k, $4, hexid(field("attempt"))] = t
    } else if (what == "recv" && ($4 == "KEPT" || $4 == "GRANT")) {
        split($5, ends, "->")
        key = k SUBSEP field("lock") SUBSEP hexid(field("attempt"))
        j = ends[1]
        if ($4 == "GRANT") {
            grantt[key, j] = t
            if (!((key, j) in grantid)) grantlist[key] = list_add(grantlist[key], j)
            grantid[key, j] = field("grant")
            next
        }
        if (!((key, j) in kept)) {
            kept[key, j] = t
            keptgrant[key, j] = field("grant")
            keptlist[key] = list_add(keptlist[key], j)
        }
    } else if (what == "GRANTED") {
        g = ++ng
        gnode[g] = k; glock[g] = $4; gatt[g] = hexid(field("attempt"))
        gtok[g] = field("token"); gt[g] = t; glease[g] = field("lease_until")
        gend[g] = ""; gwhy[g] = ""
        key = k SUBSEP $4 SUBSEP gatt[g]
        greq[g] = (key in reqt) ? reqt[key] : t
        # The quorum: every arbiter whose KEPT this attempt had by now.
        n = split(keptlist[key], q, " ")
        gq[g] = ""
        for (i = 1; i <= n; i++) gq[g] = sorted_add(gq[g], q[i])
        # ... and every arbiter whose grant id is the token: the fence round
        # sends it no KEEP (its counter is that high already).
        n = split(grantlist[key], q, " ")
        for (i = 1; i <= n; i++)
            if (!((key, q[i]) in kept) && grantid[key, q[i]] == gtok[g]) {
                kept[key, q[i]] = grantt[key, q[i]]; keptgrant[key, q[i]] = gtok[g]
                keptlist[key] = list_add(keptlist[key], q[i])
                gq[g] = sorted_add(gq[g], q[i])
            }
        gkey[g] = key
        open[k, $4] = g
    } else if (what == "SELF-GRANT") {
        # The holder's own grant (no message carries it), traced right
        # after its GRANTED.
        key = k SUBSEP $4 SUBSEP hexid(field("attempt"))
        if ((k, $4) in open && gkey[open[k, $4]] == key && !((key, k) in kept)) {
            g = open[k, $4]
            kept[key, k] = t; keptgrant[key, k] = field("grant"); grantt[key, k] = t
            gq[g] = sorted_add(gq[g], k)
        }
    } else if (what == "LOST" || (what == "unlock" && $6 == "ok")) {
        if ((k, $4) in open) {
            g = open[k, $4]; gend[g] = t; gwhy[g] = what == "LOST" ? "lost" : "unlock"
            delete open[k, $4]
        }
    } else if (what == "crash" || what == "wipe:") {
        for (g = 1; g <= ng; g++)
            if (gnode[g] == k && gend[g] == "") { gend[g] = t; gwhy[g] = what == "crash" ? "crash" : "wipe"; delete open[k, glock[g]] }
    } else if (what == "write" && $NF == "accepted") {
        writer[$4, substr($5, 7)] = k
    } else if (what == "VIOLATION" && vkind == "" && ($4 == "mutex" || $4 == "token" || $4 == "fence")) {
        vkind = $4; vt = t; vtext = rest(4); vlock = substr($5, 6); sub(/:$/, "", vlock)
        if (vkind == "mutex") {
            b = after(vtext, "node "); x = after(vtext, "(token ")
            a = after(vtext, "while node "); y = after(vtext, " vs ")
        } else if (vkind == "token") {
            b = after(vtext, "node "); x = after(vtext, "granted token ")
            a = after(vtext, "before to node "); y = after(vtext, "not above token ")
        } else {
            b = after(vtext, "from node "); x = after(vtext, "accepted token ")
            y = after(vtext, "after accepting token "); a = ((vlock, y) in writer) ? writer[vlock, y] : ""
        }
    }
    # What the explanation may need about any node: its view changes, lives
    # and epochs, in order.
    if (what == "MEMBER" || what == "VIEW" || what == "EPOCH" || what == "crash" || what == "wipe:" ||
        what == "restart" || what == "first" || what == "pause" || what == "resume") {
        ne[k]++
        et[k, ne[k]] = t
        etext[k, ne[k]] = rest(3)
    }
    next
}

# ---- the timeline ----------------------------------------------------------
file == 2 && FNR == 1 {
    find_holders()
    FS = ","; $0 = $0
    for (i = 1; i <= NF; i++) c[$i] = i
    next
}
file == 2 && $(c["kind"]) == "sample" {
    k = $(c["node"]) + 0
    if (k + 1 > nn) nn = k + 1
    t = $(c["t_start"]) + 0
    if (t > tend) tend = t
    st = $(c["state"])
    v = st SUBSEP $(c["view_size"]) SUBSEP $(c["tree_size"]) SUBSEP $(c["epoch"])
    if (!(k in seg) || seg[k] != v) {
        if (k in seg) close_seg(k, t)
        seg[k] = v; segt[k] = t
        segst[k] = st; segvs[k] = $(c["view_size"]); segts[k] = $(c["tree_size"]); sege[k] = $(c["epoch"])
        segvh[k] = $(c["view_hash"])
    }
    if ($(c["epoch"]) + 0 > maxepoch) maxepoch = $(c["epoch"]) + 0
    # Each holder's picture at its grant: the last sample at or before it.
    for (r = 1; r <= 2; r++)
        if (hg[r] && k == gnode[hg[r]] && t <= gt[hg[r]] + 1e-9) {
            hst[r] = st; hvs[r] = $(c["view_size"]); hts[r] = $(c["tree_size"])
            hep[r] = $(c["epoch"]); hvh[r] = $(c["view_hash"])
        }
    next
}
file == 2 && ($(c["kind"]) == "fault" || $(c["kind"]) == "phase") {
    t0 = $(c["t_start"]) + 0; t1 = $(c["t_end"]) + 0
    if (t1 > tend) tend = t1
    nf2++
    # A fault without a node (partition, loss ...) is the network's.
    frow[nf2] = ($(c["kind"]) == "fault" && $(c["node"]) == "" ? "network" : $(c["kind"])) "," $(c["node"]) ",," $(c["t_start"]) "," $(c["t_end"]) ",,,,,,," $(c["detail"])
    if ($(c["kind"]) == "fault" && t0 <= vt + 1e-9 && vt <= t1 + 1e-9)
        infor = list_add(infor, "[" $(c["detail"]) ($(c["node"]) != "" ? " node " $(c["node"]) : "") \
            ", " $(c["t_start"]) "-" $(c["t_end"]) " s]")
    next
}
function close_seg(k, t) {
    nv++
    vrow[nv] = "view," k ",," fmt(segt[k]) "," fmt(t) ",,,," segvs[k] "," segts[k] "," sege[k] "," segst[k] " " segvh[k]
}

# Between the trace and the timeline: find the two holders' grants, so that
# the timeline pass can pick up their pictures.
function find_holders(    g) {
    for (g = 1; g <= ng; g++) {
        if (gt[g] > vt + 1e-9 || glock[g] != vlock) continue
        if (gnode[g] == a && gtok[g] == y) hg[1] = g
        if (gnode[g] == b && gtok[g] == x) hg[2] = g
    }
}

END {
    if (vkind == "") { print "no safety violation in this trace"; exit 3 }
    for (k = 0; k < nn; k++) if (k in seg) close_seg(k, tend)
    print "kind,node,peer,t_start,t_end,role,token,quorum,view_size,tree_size,epoch,detail" > out
    print "violation," b "," a "," fmt(vt) "," fmt(vt) ",," x ",,,,," nosep(vtext) > out
    role[hg[1]] = "first"; role[hg[2]] = "second"
    for (g = 1; g <= ng; g++) {
        e = gend[g] == "" ? tend : gend[g]
        r = (g in role) ? role[g] : "other"
        if (r != "other")
            print "request," gnode[g] ",," fmt(greq[g]) "," fmt(gt[g]) "," r ",,,,,,attempt=" gatt[g] > out
        print "hold," gnode[g] ",," fmt(gt[g]) "," fmt(e) "," r "," gtok[g] "," gq[g] ",,,,lock=" glock[g] \
            " attempt=" gatt[g] " lease_until=" glease[g] " end=" (gwhy[g] == "" ? "run" : gwhy[g]) > out
        if (r == "other") continue
        n = split(gq[g], q, " ")
        for (i = 1; i <= n; i++)
            print "quorum," q[i] "," gnode[g] "," fmt(kept[gkey[g], q[i]]) "," fmt(gt[g]) "," r "," \
                keptgrant[gkey[g], q[i]] ",,,,,arbiter of node " gnode[g] > out
    }
    for (i = 1; i <= nv; i++) print vrow[i] > out
    for (i = 1; i <= nf2; i++) print frow[i] > out
    close(out)

    # ---- the summary ----
    printf "first %s violation at %.6f s: %s\n", vkind, vt, vtext
    for (r = 1; r <= 2; r++) {
        g = hg[r]
        if (!g) { printf "  holder %d: node %s's grant of token %s not found in the trace\n", r, r == 1 ? a : b, r == 1 ? y : x; continue }
        printf "  %s holder: node %d, asked at %.6f s, granted at %.6f s (token %s, lease until %s), held until %s (%s)\n", \
            r == 1 ? "first" : "second", gnode[g], greq[g], gt[g], gtok[g], glease[g], \
            gend[g] == "" ? "the end of the run" : fmt(gend[g]) " s", gwhy[g] == "" ? "still held" : gwhy[g]
        printf "    quorum %s; its view then: %s members, tree %s, epoch %s%s\n", braces(gq[g]), \
            hvs[r] == "" ? "?" : hvs[r], hts[r] == "" ? "?" : hts[r], hep[r] == "" ? "?" : hep[r], \
            hvh[r] == "" ? "" : " (view " hvh[r] ")"
    }
    printf "  faults in force at the violation: %s\n", infor == "" ? "none" : infor
    if (!hg[1] || !hg[2]) exit 0
    g1 = hg[1]; g2 = hg[2]
    n = split(gq[g1], q, " ")
    common = ""
    for (i = 1; i <= n; i++) if ((" " gq[g2] " ") ~ (" " q[i] " ")) common = list_add(common, q[i])
    if (common == "") {
        why = "the quorums " braces(gq[g1]) " and " braces(gq[g2]) " do not intersect: node " gnode[g1] \
            " formed its quorum over a quorum system of " hts[1] " members, node " gnode[g2] " over one of " hts[2]
        if (hvh[1] != hvh[2] && hep[1] == hep[2]) why = why " -- different views (" hvh[1] " vs " hvh[2] ")"
        else if (hep[1] != hep[2]) why = why " -- different epochs (" hep[1] " vs " hep[2] ")"
        else why = why " -- the same view and epoch: disjoint quorums of one quorum system are a bug of the system itself"
        printf "  why: %s\n", why
        exit 0
    }
    printf "  why: the quorums intersect at %s; each such arbiter granted both:\n", braces(common)
    n = split(common, q, " ")
    for (i = 1; i <= n; i++) {
        k = q[i]; facts = ""; headline = ""
        from = kept[gkey[g1], k]; to = kept[gkey[g2], k]
        for (m = 1; m <= ne[k]; m++) {
            if (et[k, m] < from - 1e-9 || et[k, m] > to + 1e-9) continue
            s = etext[k, m]
            if (s ~ "^MEMBER " gnode[g1] " " || s ~ /^(VIEW|EPOCH|crash|wipe|restart|first|pause|resume)/)
                facts = list_add(facts, "[" fmt(et[k, m]) " " s "]")
            if (headline == "" && s ~ /^(crash|wipe)/)
                headline = "it lost its grant to node " gnode[g1] " when it crashed at " fmt(et[k, m]) " s"
            if (headline == "" && s ~ "^MEMBER " gnode[g1] " (dead|left)")
                headline = "it dropped node " gnode[g1] " from its view at " fmt(et[k, m]) " s, and with it the grant (the policy purges a departed member's grants)"
            if (headline == "" && s ~ /^EPOCH/)
                headline = "it moved to a new configuration epoch at " fmt(et[k, m]) " s"
        }
        if (headline == "")
            headline = "its grant to node " gnode[g1] " ended by its own clock (lease until " glease[g1] " s as the holder saw it)"
        printf "    node %s: granted node %d at %.6f s and node %d at %.6f s (grant %s); %s\n", k, gnode[g1], \
            grantt[gkey[g1], k] != "" ? grantt[gkey[g1], k] : from, gnode[g2], \
            grantt[gkey[g2], k] != "" ? grantt[gkey[g2], k] : to, keptgrant[gkey[g2], k], headline
        if (facts != "") printf "      its events in between: %s\n", facts
    }
}
