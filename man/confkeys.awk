# man/confkeys.awk -- `dmutexd --print-config-keys` (the Markdown table that
# net/README.md shows, from core/confkeys.c) as roff for dmutex.conf(5), so
# that the page's list of the core's keys is never written by hand.
function esc(s) {
    gsub(/\\/, "\\e", s)
    gsub(/-/, "\\-", s)
    # `code` -> bold
    while (match(s, /`[^`]*`/))
        s = substr(s, 1, RSTART - 1) "\\fB" substr(s, RSTART + 1, RLENGTH - 2) "\\fR" substr(s, RSTART + RLENGTH)
    return s
}
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
/^\| key \|/ || /^\|---/ { next }
/^\| `/ {
    n = split($0, f, "|")
    key = trim(f[2]); gsub(/`/, "", key)
    type = trim(f[3]); def = trim(f[4]); gsub(/`/, "", def); range = trim(f[5])
    help = f[6]
    for (i = 7; i < n; i++) help = help "|" f[i]
    help = trim(help)
    print ".TP"
    print ".B " esc(key)
    line = esc(help) "."
    if (line ~ /^[.']/) line = "\\&" line
    print line
    print "Type " type "; default"
    print ".BR " esc(def) " ;"
    print "accepted: " esc(range) "."
    keys++
    next
}
/^Deprecated/ { print ".PP"; print esc($0); next }
/^[ \t]*$/ { next }
{ print "confkeys.awk: unexpected line: " $0 > "/dev/stderr"; bad = 1 }
END {
    if (keys == 0) { print "confkeys.awk: no keys in the input" > "/dev/stderr"; bad = 1 }
    exit bad
}
