#!/usr/bin/env bash
# Stacks named with symbols, end to end: our own TLS client (B/tests/ssl_client,
# built with symbols) calls SSL_write from elaine_probe_chat_call under
# elaine-run; the record's stack names that frame "ssl_client!elaine_probe_chat_call+0xOFF"
# (OFF: the return address after the call, checked against objdump when it is
# installed), innermost first (before main), every frame "module!symbol+0xoff".
# Also: the client alone gives the same output.
source "$(dirname "$0")/lib.sh"
CLIENT=$ELAINE_BUILD_DIR/tests/ssl_client
[[ -x $CLIENT ]] || fail "$CLIENT is missing: build first (cmake --build build)"
start_mock
start_collector

"$CLIENT" "$MOCK_PORT" >"$T/plain.out" 2>"$T/plain.err" || fail "ssl_client alone failed: $(cat "$T/plain.err")"
# The collector names a stack from /proc/PID/maps when it takes the request
# start: the client lingers (until EOF on its stdin) until the record is written.
mkfifo "$T/hold"
run_elaine "$CLIENT" "$MOCK_PORT" --linger <"$T/hold" >"$T/client.out" 2>"$T/client.err" &
client=$!
exec 3>"$T/hold"
wait_records 1
exec 3>&-
wait "$client" || fail "ssl_client under elaine-run failed: $(cat "$T/client.err")"
grep -q '"content":"Echo: stack probe"' "$T/client.out" || fail "unexpected reply: $(cat "$T/client.out")"
mask() { sed -E 's/chatcmpl-mock-[0-9]+/chatcmpl-mock-N/g' "$1"; }
[[ $(mask "$T/plain.out") == "$(mask "$T/client.out")" ]] ||
  fail "ssl_client output differs under elaine-run: $(diff <(mask "$T/plain.out") <(mask "$T/client.out") | head -5)"
check_records 'len(uniq) == 1'
check_records 'chat_ok(find("stack probe"), exe="ssl_client", auth="[REDACTED]")'
check_records 'isinstance(find("stack probe")["stack"], list) and len(find("stack probe")["stack"]) >= 3'
# Every frame has the shape of the design, or "?!0xADDR" outside every mapping.
check_records 'all(__import__("re").fullmatch(r"[^!]+![^!+]*\+0x[0-9a-f]+|\?!0x[0-9a-f]+", f) for f in find("stack probe")["stack"])'

# The frame of the caller of SSL_write, then main's, innermost first.
PROBE=ssl_client!elaine_probe_chat_call+0x
export PROBE
check_records 'sum(f.startswith(env["PROBE"]) for f in find("stack probe")["stack"]) == 1'
check_records '(lambda s: [i for i, f in enumerate(s) if f.startswith(env["PROBE"])][0] <
  [i for i, f in enumerate(s) if f.startswith("ssl_client!main+0x")][0])(find("stack probe")["stack"])'
# Nothing of the shim itself comes before the caller.
check_records 'find("stack probe")["stack"][0].startswith(env["PROBE"])'

# The exact offset: the return address after "call SSL_write@plt", from the binary.
if command -v objdump >/dev/null; then
  # prints the function's address and the one of the instruction after the call
  read -r start next < <(objdump -d --no-show-raw-insn "$CLIENT" | awk '
    /^[0-9a-f]+ <elaine_probe_chat_call>:$/ { start = $1; inside = 1; next }
    inside && /^$/ { inside = 0 }
    inside && after { sub(":", "", $1); print start, $1; exit }
    inside && /call.*<SSL_write@plt>/ { after = 1 }') || true
  want=
  [[ ${start:-} =~ ^[0-9a-f]+$ && ${next:-} =~ ^[0-9a-f]+$ ]] && want=$(printf '0x%x' $((16#$next - 16#$start)))
  [[ $want =~ ^0x[0-9a-f]+$ ]] || fail "objdump found no call of SSL_write in elaine_probe_chat_call"
  WANT_FRAME=ssl_client!elaine_probe_chat_call+$want
  export WANT_FRAME
  check_records 'env["WANT_FRAME"] in find("stack probe")["stack"]'
else
  echo "test_stack: objdump not installed, exact offset not checked" >&2
fi
echo "test_stack: ok"
