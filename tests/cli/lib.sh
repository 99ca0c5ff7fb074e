# Helpers sourced by tests/cli/test_*.sh (not a test itself).
#
# A test script is run as: test_X.sh SIEVE_BINARY SOURCE_DIR
# It sets $sieve, $src, $data and $tmp (removed on exit), runs checks and
# ends with `finish`, which exits non-zero if any check failed.

set -u

# Run on its own (e.g. by a tests/cli/*.sh glob) it is a skipped non-test.
case $0 in
*lib.sh)
    echo "lib.sh: helpers for tests/cli/test_*.sh, not a test"
    exit 77
    ;;
esac

if [ $# -lt 2 ]; then
    echo "usage: $0 SIEVE_BINARY SOURCE_DIR" >&2
    exit 2
fi
sieve=$1
src=$2
data="$src/tests/data/cli"
if [ ! -x "$sieve" ]; then
    echo "$0: $sieve is not an executable" >&2
    exit 2
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sieve-cli-test.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
failures=0
checks=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# run ARGS...: runs sieve, keeps exit status in $status, output in $tmp/out, $tmp/err.
run() {
    checks=$((checks + 1))
    "$sieve" "$@" >"$tmp/out" 2>"$tmp/err"
    status=$?
    last="sieve $*"
}

expect_status() {
    if [ "$status" -ne "$1" ]; then
        fail "$last: exit status $status, expected $1; stderr: $(head -c 500 "$tmp/err")"
    fi
}

# expect_out FIXED_STRING / expect_err FIXED_STRING: substring of stdout / stderr.
expect_out() {
    grep -qF -- "$1" "$tmp/out" || fail "$last: stdout lacks '$1': $(head -c 500 "$tmp/out")"
}
expect_err() {
    grep -qF -- "$1" "$tmp/err" || fail "$last: stderr lacks '$1': $(head -c 500 "$tmp/err")"
}
expect_no_out() {
    if grep -qF -- "$1" "$tmp/out"; then fail "$last: stdout has '$1'"; fi
}

# The error contract: exactly one line on stderr, "sieve CMD: ..." prefixed.
expect_one_error_line() {
    lines=$(wc -l <"$tmp/err")
    [ "$lines" -eq 1 ] || fail "$last: $lines lines on stderr, expected 1: $(head -c 500 "$tmp/err")"
    grep -q "^$1" "$tmp/err" || fail "$last: stderr does not start with '$1': $(cat "$tmp/err")"
}

# expect_json: stdout is one line of valid JSON (checked with jq when present).
expect_json() {
    lines=$(wc -l <"$tmp/out")
    [ "$lines" -eq 1 ] || fail "$last: JSON output has $lines lines, expected 1"
    if command -v jq >/dev/null 2>&1; then
        jq -e . "$tmp/out" >/dev/null 2>&1 || fail "$last: stdout is not valid JSON"
    fi
}

# npy_floats FILE: the float32 values of a little-endian .npy written by
# np.save or sieve (the header length is bytes 8-9), one per line.
npy_floats() {
    hlen=$(od -A n -t u2 -j 8 -N 2 "$1" | tr -d ' ')
    od -A n -v -t f4 -j $((10 + hlen)) "$1" | tr -s ' ' '\n' | sed '/^$/d'
}

# expect_close ACTUAL.npy EXPECTED.npy TOLERANCE: same count, |a - e| <= tol.
expect_close() {
    checks=$((checks + 1))
    npy_floats "$1" >"$tmp/actual.txt"
    npy_floats "$2" >"$tmp/expected.txt"
    if ! paste "$tmp/actual.txt" "$tmp/expected.txt" | awk -v tol="$3" '
        NF != 2 { bad = 1; print "length differs at line " NR; exit }
        { d = $1 - $2; if (d < 0) d = -d; if (d > tol) { bad = 1; print "value " NR ": " $1 " vs " $2 } }
        END { exit bad }' >"$tmp/diff.txt"; then
        fail "$1 differs from $2: $(head -5 "$tmp/diff.txt")"
    fi
}

finish() {
    if [ "$failures" -ne 0 ]; then
        echo "$0: $failures of $checks checks failed" >&2
        exit 1
    fi
    echo "$0: all $checks checks passed"
    exit 0
}
