#!/bin/sh
# sieve import, info and run end to end on the tiny ONNX fixtures of
# tests/data/cli/ (made by tests/cli/gen_fixtures.sh; the expected output
# is a float64 NumPy forward pass, cross-checked with PyTorch).
#
# usage: test_cli_models.sh SIEVE_BINARY SOURCE_DIR
. "$(dirname "$0")/lib.sh"

# ---- import ----
printf '  zero\none \t\n two\r\nthree\nfour\nfive\nsix\nseven\neight\nnine\n\n\n' >"$tmp/labels.txt"
run import "$data/tiny_cnn.onnx" -o "$tmp/tiny.sieve" --labels "$tmp/labels.txt" \
    --mean 0.5 --std 0.25 --scale 0.00392157 --meta dataset=synthetic --meta dataset=noise
expect_status 0
expect_out "$data/tiny_cnn.onnx -> $tmp/tiny.sieve: "
expect_out "690 parameters"
[ "$(wc -l <"$tmp/out")" -eq 1 ] || fail "$last: summary is not one line"
[ -s "$tmp/err" ] && fail "$last: unexpected stderr: $(cat "$tmp/err")"
[ -f "$tmp/tiny.sieve" ] || fail "$last: wrote no $tmp/tiny.sieve"
[ -e "$tmp/tiny.sieve.tmp" ] && fail "$last: left $tmp/tiny.sieve.tmp behind"

# Importing again replaces the file atomically; a bad label file changes nothing.
cp "$tmp/tiny.sieve" "$tmp/before.sieve"
printf 'a\n\nb\n' >"$tmp/gap.txt"
run import "$data/tiny_cnn.onnx" -o "$tmp/tiny.sieve" --labels "$tmp/gap.txt"
expect_status 1
expect_one_error_line "sieve import: $tmp/gap.txt: line 2 is empty"
cmp -s "$tmp/tiny.sieve" "$tmp/before.sieve" || fail "$last: changed $tmp/tiny.sieve"

printf 'a\nb\nc\n' >"$tmp/three.txt"
run import "$data/tiny_cnn.onnx" -o "$tmp/three.sieve" --labels "$tmp/three.txt"
expect_status 0
expect_err "warning: 3 labels, but output 'probs' has 10 classes"

run import "$data/tiny_cnn.onnx" -o "$tmp/x.sieve" --mean 0.1,0.2,0.3
expect_status 1
expect_one_error_line "sieve import: $data/tiny_cnn.onnx: --mean: 3 values for an input with 1 channel"

run import "$data/add_two.onnx" -o "$tmp/add.sieve" --scale 2
expect_status 1
expect_err "need an image input [N, C, H, W]"
run import "$data/add_two.onnx" -o "$tmp/add.sieve"
expect_status 0

run import "$data/tiny_cnn.onnx" -o "$tmp/no-such-dir/x.sieve"
expect_status 1
expect_one_error_line "sieve import: $tmp/no-such-dir/x.sieve: "

# ---- info ----
run info "$tmp/tiny.sieve"
expect_status 0
for s in "inputs:   input [1, 1, 8, 8] fp32" "outputs:  probs [1, 10] fp32" "conv" "maxpool" \
    "softmax" "[1, 4, 8, 8]" "parameters          690" "weights             2760 bytes (2.70 KiB)" \
    "vs fp32             100.0% of 2760 bytes" "MACs per inference" "planned peak" "without reuse" \
    "labels:     10 (zero, one, two, three, four, ...)" \
    "preprocess: 1x8x8 (channels x height x width), x = (pixel * 0.00392157 - mean) / std, mean 0.5 std 0.25" \
    "source: tiny_cnn.onnx" "importer: sieve import "; do
    expect_out "$s"
done

run info "$tmp/tiny.sieve" --json
expect_status 0
expect_json
for s in '"model":"'"$tmp/tiny.sieve"'"' '"parameters":690' '"weight_bytes":2760' \
    '"weight_ratio_vs_fp32":1' '"label_count":10' '"labels":["zero","one","two",' \
    '"preprocess":{"channels":1,"height":8,"width":8,' '"mean":[0.5]' '"std":[0.25]' \
    '"source":"tiny_cnn.onnx"' '"name":"w1","role":"constant","is_output":false,"shape":[4,1,3,3],"format":"fp32","bytes":144' \
    '"output_shape":[1,10]' '"activation_peak_bytes":' '"activation_no_reuse_bytes":'; do
    expect_out "$s"
done
if command -v jq >/dev/null 2>&1; then
    # Totals agree with the per-layer and per-tensor rows.
    jq -e '.totals.macs == ([.layers[].macs] | add) and .totals.macs >= 2304 + 640
        and .totals.parameters == ([.layers[].params] | add)
        and .totals.weight_bytes == ([.tensors[] | select(.role == "constant") | .bytes] | add)
        and .totals.activation_peak_bytes <= .totals.activation_no_reuse_bytes
        and .totals.activation_peak_bytes > 0' "$tmp/out" >/dev/null ||
        fail "$last: totals disagree with the rows"
fi

run info "$tmp/add.sieve"
expect_status 0
expect_out "preprocess: none"
expect_out "inputs:   a [2, 3] fp32, b [2, 3] fp32"

# ---- run ----
run run "$tmp/tiny.sieve" --input "$data/tiny_cnn_input.npy" --output-dir "$tmp/out1"
expect_status 0
expect_out "input  input <- $data/tiny_cnn_input.npy [1, 1, 8, 8] (npy float32)"
expect_out "output probs -> $tmp/out1/probs.npy [1, 10]"
expect_out "latency: "
expect_close "$tmp/out1/probs.npy" "$data/tiny_cnn_expected.npy" 1e-6

# Same tensor as float64 .npy, as ONNX TensorProto, by name, with threads.
run run "$tmp/tiny.sieve" --input "$data/tiny_cnn_input_f64.npy" -o "$tmp/out2" --threads 2
expect_status 0
expect_close "$tmp/out2/probs.npy" "$data/tiny_cnn_expected.npy" 1e-6
run run "$tmp/tiny.sieve" --input "$data/tiny_cnn_input.pb" -o "$tmp/out3"
expect_status 0
expect_out "(onnx)"
expect_close "$tmp/out3/probs.npy" "$data/tiny_cnn_expected.npy" 1e-6
run run "$tmp/tiny.sieve" --input "input=$data/tiny_cnn_input.npy" -o "$tmp/out4/nested"
expect_status 0
expect_close "$tmp/out4/nested/probs.npy" "$data/tiny_cnn_expected.npy" 1e-6

# '-' is standard input.
checks=$((checks + 1))
"$sieve" run "$tmp/tiny.sieve" --input - -o "$tmp/out-stdin" <"$data/tiny_cnn_input.pb" >"$tmp/out" 2>"$tmp/err" ||
    fail "run --input - failed: $(cat "$tmp/err")"
expect_close "$tmp/out-stdin/probs.npy" "$data/tiny_cnn_expected.npy" 1e-6

# Default output directory is the working directory.
(cd "$tmp" && "$sieve" run tiny.sieve --input "$data/tiny_cnn_input.npy" >/dev/null 2>&1) ||
    fail "run without --output-dir failed"
expect_close "$tmp/probs.npy" "$data/tiny_cnn_expected.npy" 1e-6

run run "$tmp/tiny.sieve" --input "$data/tiny_cnn_input.npy" -o "$tmp/out5" --repeat 7 \
    --warmup 2 --json
expect_status 0
expect_json
for s in '"runs":7' '"warmup":2' '"latency_ms":{"median":' '"min":' '"mean":' \
    '"inputs":[{"name":"input","file":"'"$data/tiny_cnn_input.npy"'","kind":"npy","dtype":"float32","shape":[1,1,8,8]}]' \
    '"outputs":[{"name":"probs","file":"'"$tmp/out5/probs.npy"'","shape":[1,10]}]'; do
    expect_out "$s"
done
# Inputs are set once; the last of the repeated runs still saw them intact.
expect_close "$tmp/out5/probs.npy" "$data/tiny_cnn_expected.npy" 1e-6
if command -v jq >/dev/null 2>&1; then
    jq -e '.latency_ms.min <= .latency_ms.median and .latency_ms.median <= .latency_ms.max
        and .latency_ms.min > 0' "$tmp/out" >/dev/null || fail "$last: latency statistics out of order"
fi

run run "$tmp/tiny.sieve" --input "$data/tiny_cnn_input.npy" -o "$tmp/out6" --repeat 3
expect_status 0
expect_out "latency over 3 runs: median "

# Two inputs: NAME=FILE plus a positional one filling the other; dtypes int32
# and uint8; an output name that must be sanitized into a file name.
run run "$tmp/add.sieve" --input "b=$data/add_b.npy" --input "$data/add_a.npy" -o "$tmp/out7"
expect_status 0
expect_out "input  a <- $data/add_a.npy [2, 3] (npy int32)"
expect_out "input  b <- $data/add_b.npy [2, 3] (npy uint8)"
expect_out "output sum/out:0 -> $tmp/out7/sum_out_0.npy [2, 3]"
printf '1\n-1\n5\n293\n304\n195\n' >"$tmp/sum.txt"
checks=$((checks + 1))
npy_floats "$tmp/out7/sum_out_0.npy" | awk '{ printf "%g\n", $1 }' | cmp -s - "$tmp/sum.txt" ||
    fail "add_two: sum_out_0.npy holds $(npy_floats "$tmp/out7/sum_out_0.npy" | tr '\n' ' ')"

# ---- run: input errors are one line naming the file ----
run run "$tmp/add.sieve" --input "$data/add_a.npy"
expect_status 1
expect_one_error_line "sieve run: input 'b' is not given (use --input b=FILE)"

run run "$tmp/add.sieve" --input "a=$data/add_a.npy" --input "a=$data/add_b.npy"
expect_status 1
expect_one_error_line "sieve run: input 'a' is given twice"

run run "$tmp/tiny.sieve" --input "$data/tiny_cnn_input.npy" --input "$data/tiny_cnn_input.npy"
expect_status 1
expect_one_error_line "sieve run: $data/tiny_cnn_input.npy: more inputs given than the model's 1"

run run "$tmp/tiny.sieve" --input "nope=$data/tiny_cnn_input.npy"
expect_status 1
expect_one_error_line "sieve run: --input nope=$data/tiny_cnn_input.npy: the model has no input named 'nope' (inputs: 'input')"

run run "$tmp/tiny.sieve" --input "$tmp/missing.npy"
expect_status 1
expect_one_error_line "sieve run: $tmp/missing.npy: No such file or directory"

head -c 200 "$data/tiny_cnn_input.npy" >"$tmp/truncated.npy"
run run "$tmp/tiny.sieve" --input "$tmp/truncated.npy"
expect_status 1
expect_one_error_line "sieve run: $tmp/truncated.npy: data truncated: shape needs 256 bytes, file has 72"

# The same array marked Fortran-order (header text edited, same length).
head -c 128 "$data/tiny_cnn_input.npy" | sed 's/False/True /' >"$tmp/fortran.npy"
tail -c +129 "$data/tiny_cnn_input.npy" >>"$tmp/fortran.npy"
run run "$tmp/tiny.sieve" --input "$tmp/fortran.npy"
expect_status 1
expect_one_error_line "sieve run: $tmp/fortran.npy: Fortran-order arrays are not supported"

printf 'hello' >"$tmp/garbage.bin"
run run "$tmp/tiny.sieve" --input "$tmp/garbage.bin"
expect_status 1
expect_one_error_line "sieve run: $tmp/garbage.bin: "

# A tensor of the wrong size cannot be reshaped to the input: the executor says why.
run run "$tmp/tiny.sieve" --input "$data/add_a.npy" -o "$tmp/out8"
expect_status 1
expect_one_error_line "sieve run: $tmp/tiny.sieve: "
[ -e "$tmp/out8/probs.npy" ] && fail "$last: wrote an output after failing"

finish
