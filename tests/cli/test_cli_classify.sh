#!/usr/bin/env bash
# sieve classify and sieve eval on the bundled LeNet-5 and real test images:
# right labels, the JSON contract, and bad input (missing, truncated,
# non-image, zero-sized and huge images; a model that takes no image) that
# gives one error line per bad file while the other images are classified.
. "$(dirname "$0")/lib.sh"

model="$src/models/lenet5.sieve"
images="$src/tests/data"

# Every bundled test image names its true class: t10k_<index>_<label>.png.
# LeNet-5 (91.6% test accuracy) must get at least 27 of the 30 right.
run classify "$model" "$images"/t10k_*.png
expect_status 0
right=0
total=0
while read -r line; do
    file=${line%%:*}
    want=$(basename "$file" .png | cut -d_ -f3- | tr '_' ' ')
    got=$(echo "${line#*: }" | sed 's/ (class.*//' | tr 'A-Z' 'a-z' | tr '/-' '  ')
    total=$((total + 1))
    case "$got" in "$want"*) right=$((right + 1)) ;; esac
done <"$tmp/out"
checks=$((checks + 1))
[ "$total" -ge 30 ] || fail "classify printed $total results for the 30 bundled images"
[ "$right" -ge 27 ] || fail "classify got $right of $total bundled images right"

run classify "$model" "$images/t10k_00000_ankle_boot.png" --json --top 3
expect_status 0
expect_json
for key in '"label":"Ankle boot"' '"class_index":9' '"confidence":' '"elapsed_ms":' '"top":[' '"where":"device"'; do
    expect_out "$key"
done

# bad images: each gives one error line naming the file; the good one is still classified
printf 'not an image at all' >"$tmp/text.png"
head -c 100 "$images/t10k_00000_ankle_boot.png" >"$tmp/truncated.png"
: >"$tmp/empty.png"
printf 'P5 60000 60000 255\n\000\000' >"$tmp/huge.pgm"
run classify "$model" "$tmp/missing.png" "$tmp/text.png" "$tmp/truncated.png" "$tmp/empty.png" \
    "$tmp/huge.pgm" "$images/t10k_00000_ankle_boot.png"
expect_status 1
expect_out "t10k_00000_ankle_boot.png: Ankle boot"
lines=$(wc -l <"$tmp/err")
checks=$((checks + 1))
[ "$lines" -eq 5 ] || fail "5 bad images gave $lines error lines: $(cat "$tmp/err")"
for name in missing.png text.png truncated.png empty.png huge.pgm; do
    expect_err "$name"
done
expect_err "too large"

# a model that does not take one [1, C, H, W] image
run classify "$data/add_two.onnx" "$images/t10k_00000_ankle_boot.png"
expect_status 1
expect_one_error_line "sieve classify"
"$sieve" import "$data/add_two.onnx" -o "$tmp/add_two.sieve" >/dev/null 2>&1
run classify "$tmp/add_two.sieve" "$images/t10k_00000_ankle_boot.png"
expect_status 1
expect_one_error_line "sieve classify"

# eval: JSON result on a slice of the test split
if [ -r /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
    run eval "$model" --data "idx:/usr/share/datasets/fashion-mnist/t10k[0:200]" --json
    expect_status 0
    expect_json
    expect_out '"images":200'
    run eval "$model" --data "idx:/nonexistent/prefix"
    expect_status 1
    expect_one_error_line "sieve eval"
fi
run eval "$model"
expect_status 2

finish
