#!/bin/sh
# The sieve command's contract without a working model: --help and
# --version, exit statuses (0 ok, 1 failure, 2 usage), one-line error
# messages "sieve CMD: FILE: PROBLEM", option and number validation.
#
# usage: test_cli_basics.sh SIEVE_BINARY SOURCE_DIR
. "$(dirname "$0")/lib.sh"

# The commands this test pins in detail; others are checked for honesty only.
mine="import info run"

# ---- global help and version ----
for arg in --help -h help; do
    run "$arg"
    expect_status 0
    expect_out "usage: sieve <command>"
    for c in $mine; do expect_out "  $c "; done
done
# Every command listed is real: its --help works (no "not implemented" stubs).
commands=$(sed -n '/^commands:/,/^$/p' "$tmp/out" | awk 'NF > 1 && $1 != "commands:" { print $1 }')
[ -n "$commands" ] || fail "sieve --help lists no commands"

run --version
expect_status 0
version=$(sed -n 's/^project(sieve VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ -n "$version" ] || fail "cannot read the project version from $src/CMakeLists.txt"
expect_out "sieve $version"

run
expect_status 2
grep -qF "usage: sieve <command>" "$tmp/err" || fail "sieve without arguments: no usage on stderr"

run frobnicate
expect_status 2
expect_one_error_line "sieve: unknown command 'frobnicate'"
for c in $commands; do expect_err "$c"; done

run --frobnicate
expect_status 2
expect_one_error_line "sieve: unknown option '--frobnicate'"

# ---- per-command help, tells the truth about its options ----
for c in $commands; do
    run "$c" --help
    expect_status 0
    expect_out "usage: sieve $c"
    cp "$tmp/out" "$tmp/help_$c"

    run help "$c"
    expect_status 0
    cmp -s "$tmp/out" "$tmp/help_$c" || fail "'sieve help $c' differs from 'sieve $c --help'"

    run "$c" -h
    expect_status 0

    # Every long option the help names is one the command accepts.
    for opt in $(grep -o -- '--[a-z][a-z-]*' "$tmp/help_$c" | sort -u); do
        run "$c" "$opt" "$tmp/nonexistent"
        if grep -qF "unknown option" "$tmp/err"; then
            fail "sieve $c --help documents $opt, which the command rejects"
        fi
    done

    run "$c" --bogus
    expect_status 2
    expect_one_error_line "sieve $c: unknown option '--bogus'"
    expect_err "see 'sieve $c --help'"

    run "$c"
    expect_status 2
    if grep -qi "not implemented" "$tmp/err" "$tmp/out"; then fail "$last: a stub"; fi
done
for c in $mine; do
    run "$c"
    expect_one_error_line "sieve $c: missing"
done

# ---- missing and garbage model files ----
missing="$tmp/no-such-model.sieve"
run info "$missing"
expect_status 1
expect_one_error_line "sieve info: $missing: "
expect_err "No such file or directory"

printf 'this is not a model\n' >"$tmp/garbage.sieve"
: >"$tmp/empty.sieve"
head -c 3000 /dev/urandom >"$tmp/random.sieve" 2>/dev/null || cp "$tmp/garbage.sieve" "$tmp/random.sieve"
for f in garbage.sieve empty.sieve random.sieve; do
    run info "$tmp/$f"
    expect_status 1
    expect_one_error_line "sieve info: $tmp/$f: "

    run info "$tmp/$f" --json
    expect_status 1
    [ -s "$tmp/out" ] && fail "$last: printed to stdout on failure"

    run run "$tmp/$f" --input "$tmp/x.npy"
    expect_status 1
    expect_one_error_line "sieve run: $tmp/$f: "
done

run info "$tmp"
expect_status 1
expect_one_error_line "sieve info: $tmp: "

# ---- run: argument validation ----
for bad in "--threads 0" "--threads abc" "--threads 4x" "--threads 99999999999999999999" \
    "--repeat 0" "--repeat -1" "--repeat 1.5" "--warmup -1" "--threads="; do
    # shellcheck disable=SC2086
    run run "$tmp/garbage.sieve" --input x.npy $bad
    expect_status 2
    expect_one_error_line "sieve run: --"
done
run run "$tmp/garbage.sieve"
expect_status 2
expect_one_error_line "sieve run: missing --input"
run run "$tmp/garbage.sieve" extra.sieve --input x.npy
expect_status 2
expect_one_error_line "sieve run: unexpected argument 'extra.sieve'"
run run "$tmp/garbage.sieve" --input
expect_status 2
expect_one_error_line "sieve run: option '--input' needs a value"
run run "$tmp/garbage.sieve" --json=yes --input x.npy
expect_status 2
expect_one_error_line "sieve run: option '--json' takes no value"

# ---- import: argument validation and no half-written files ----
for bad in "--mean abc" "--mean 1,,2" "--mean 1,2,3,4,5" "--std 0" "--std 1,0" "--scale 0" \
    "--scale nan" "--scale 1e99" "--meta novalue" "--meta =value"; do
    # shellcheck disable=SC2086
    run import "$tmp/m.onnx" -o "$tmp/out.sieve" $bad
    expect_status 2
    expect_one_error_line "sieve import: --"
done
run import "$tmp/m.onnx"
expect_status 2
expect_one_error_line "sieve import: missing -o OUT.sieve"
run import "$tmp/m.onnx" -o "$tmp/m.onnx"
expect_status 2

run import "$tmp/no-such.onnx" -o "$tmp/out.sieve"
expect_status 1
expect_one_error_line "sieve import: $tmp/no-such.onnx: "
for f in garbage.sieve empty.sieve random.sieve; do
    run import "$tmp/$f" -o "$tmp/out.sieve"
    expect_status 1
    expect_one_error_line "sieve import: $tmp/$f: "
    [ -e "$tmp/out.sieve" ] && fail "$last: left $tmp/out.sieve behind"
    [ -e "$tmp/out.sieve.tmp" ] && fail "$last: left $tmp/out.sieve.tmp behind"
done
run import "$tmp/garbage.sieve" -o "$tmp/out.sieve" --labels "$tmp/no-such-labels.txt"
expect_status 1
expect_one_error_line "sieve import: $tmp/no-such-labels.txt: No such file or directory"

# "--" ends the options: a file named like an option is still a file.
run info -- --json
expect_status 1
expect_one_error_line "sieve info: --json: "

finish
