;; The structural scan of the CloudTrail reader, in WebAssembly with 128-bit SIMD.
;;
;; Finds where a JSON container that is already open ends: tracks string state and bracket nesting, 64 bytes
;; at a time, the way simdjson's first stage does:
;; 1. SIMD compares give 64-bit masks of backslashes, quotes and brackets in the block.
;; 2. Escaped bytes (the byte after an odd run of backslashes) come from the backslash mask by carry
;;    arithmetic, carried from block to block; escaped quotes are dropped.
;; 3. A prefix XOR of the quote mask gives, for every byte, whether a string is open after it.
;; 4. Only brackets outside strings are visited, one by one, to keep the nesting and match the brackets.
;; 5. In the same pass, the prefilter's needles (the reader's first group) are searched the way SIMD substring
;;    searches do (Wojciech Mula, "SIMD-friendly algorithms for substring searching"): a mask of positions
;;    where the needle's rarest byte (chosen by the reader) matches, then a byte-by-byte check of each
;;    candidate; the smallest end of a whole match is kept, so the reader knows whether a record holds a
;;    needle without reading its bytes again. A needle probed at a leading backslash reuses step 2's mask.
;; 6. In records mode the scan runs on past the end of a record (a `Records` entry) while the next one follows
;;    at once (`},{`, as CloudTrail writes them): it writes each record's end and needle hit to an output
;;    list and returns only at the end of the chunk or between records, so the reader pays no call and no
;;    state machine step per record.
;;
;; Memory layout: bytes [0, 256) hold the bracket stack (the opening byte of each open container, as the
;; reader keeps it); [256, 272) up to four needle descriptors of 4 bytes (length, probe offset, unused, offset
;; of the needle's bytes in [272, 512)); the input chunk starts at byte 512; the reader keeps 64 bytes plus the
;; longest needle of slack after it, so no load runs past the memory (bytes past the end are masked out);
;; records mode writes its output list where the reader says (after the slack).
;;
;; Regenerate lambda/domain/reading/structural-scan-wasm.ts with `npm run build:wasm` after editing this file
;; (a test fails when the two differ).
(module
  (memory (export "memory") 1)

  ;; State after a call: nesting depth, inside a string, escape pending; offset of a malformed byte.
  (global $outDepth (export "outDepth") (mut i32) (i32.const 0))
  (global $outInString (export "outInString") (mut i32) (i32.const 0))
  (global $outEscape (export "outEscape") (mut i32) (i32.const 0))
  (global $errorAt (export "errorAt") (mut i32) (i32.const 0))
  ;; Smallest end address of a needle match that starts after $hitFrom (0x7fffffff: none).
  (global $hitEnd (export "hitEnd") (mut i32) (i32.const 0x7fffffff))
  ;; Matches count only when they start after this address: the opening brace of the record being scanned.
  (global $hitFrom (mut i32) (i32.const 0))
  ;; Records mode: how many records the call wrote to the output list.
  (global $recordCount (export "recordCount") (mut i32) (i32.const 0))

  ;; Masks of 64 bytes (bit i set when byte i of the block equals a byte) are written out where they are used:
  ;; V8 (Node 20) does not inline WebAssembly calls, and a call per mask took a third of the scan's time.

  ;; The mask a needle's first byte sifts candidates with: the block's quotes or backslashes (escaped or not)
  ;; for a needle that starts with one, else every position. With the probe, two bytes sift the candidates.
  (func $sieve (param $first i32) (param $backslashes i64) (param $quotes i64) (result i64)
    (if (result i64) (i32.eq (local.get $first) (i32.const 0x22))
      (then (local.get $quotes))
      (else
        (if (result i64) (i32.eq (local.get $first) (i32.const 0x5c))
          (then (local.get $backslashes))
          (else (i64.const -1))))))

  ;; Searches the block at `p` (positions of `valid`; `backslashes` and `quotes` its masks of those bytes)
  ;; for needles `from` to `count` - 1; a match must end by `end`.
  (func $needles (param $p i32) (param $valid i64) (param $backslashes i64) (param $quotes i64) (param $end i32)
    (param $from i32) (param $count i32)
    (local $k i32) (local $desc i32) (local $bytes i32) (local $o i32) (local $candidates i64) (local $at i32)
    (local $splat v128) (local $sieve i64)
    (local.set $k (local.get $from))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $k) (local.get $count)))
        (local.set $desc (i32.add (i32.const 256) (i32.shl (local.get $k) (i32.const 2))))
        (local.set $o (i32.load8_u offset=1 (local.get $desc)))
        (local.set $bytes (i32.add (i32.const 272) (i32.load8_u offset=3 (local.get $desc))))
        (local.set $sieve
          (call $sieve (i32.load8_u (local.get $bytes)) (local.get $backslashes) (local.get $quotes)))
        (local.set $candidates
          (i64.and
            (i64.and (local.get $valid) (local.get $sieve))
            ;; The sieve alone when it already tests the probe (at the first byte), or holds nothing.
            (if (result i64)
              (i32.or
                (i64.eqz (local.get $sieve))
                (i32.and (i32.eqz (local.get $o)) (i64.ne (local.get $sieve) (i64.const -1))))
              (then (i64.const -1))
              (else
                (local.set $at (i32.add (local.get $p) (local.get $o)))
                (local.set $splat (i8x16.splat (i32.load8_u (i32.add (local.get $bytes) (local.get $o)))))
                (i64.or
                  (i64.or
                    (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.load (local.get $at)) (local.get $splat))))
                    (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.load offset=16 (local.get $at)) (local.get $splat)))) (i64.const 16)))
                  (i64.or
                    (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.load offset=32 (local.get $at)) (local.get $splat)))) (i64.const 32))
                    (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.load offset=48 (local.get $at)) (local.get $splat)))) (i64.const 48))))))))
        (if (i32.eqz (i64.eqz (local.get $candidates)))
          (then (call $verify (local.get $k) (local.get $p) (local.get $candidates) (local.get $end))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $each))))

  ;; Compares needle `k` whole at each candidate position of the block at `p` (bit i: a match may start at p+i).
  (func $verify (param $k i32) (param $p i32) (param $candidates i64) (param $end i32)
    (local $desc i32) (local $len i32) (local $bytes i32) (local $q i32) (local $i i32)
    (local.set $desc (i32.add (i32.const 256) (i32.shl (local.get $k) (i32.const 2))))
    (local.set $len (i32.load8_u (local.get $desc)))
    (local.set $bytes (i32.add (i32.const 272) (i32.load8_u offset=3 (local.get $desc))))
    (block $done
      (loop $candidate
        (br_if $done (i64.eqz (local.get $candidates)))
        (local.set $q (i32.add (local.get $p) (i32.wrap_i64 (i64.ctz (local.get $candidates)))))
        (local.set $candidates (i64.and (local.get $candidates) (i64.sub (local.get $candidates) (i64.const 1))))
        ;; Only a match inside the chunk and the record that ends before the best one so far matters.
        (if (i32.and
              (i32.and
                (i32.le_u (i32.add (local.get $q) (local.get $len)) (local.get $end))
                (i32.lt_u (i32.add (local.get $q) (local.get $len)) (global.get $hitEnd)))
              (i32.gt_u (local.get $q) (global.get $hitFrom)))
          (then
            (local.set $i (i32.const 0))
            (block $mismatch
              (loop $compare
                (if (i32.ge_u (local.get $i) (local.get $len))
                  (then
                    (global.set $hitEnd (i32.add (local.get $q) (local.get $len)))
                    (br $mismatch)))
                (br_if $mismatch
                  (i32.ne (i32.load8_u (i32.add (local.get $q) (local.get $i)))
                          (i32.load8_u (i32.add (local.get $bytes) (local.get $i)))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $compare)))))
        (br $candidate))))

  ;; Scans [p, end) starting at nesting `depth` (string open `in`, escape pending `esc`).
  ;; Returns the address after the bracket that brings the nesting back to `base` outside any string,
  ;; -1 when `end` comes first, -2 for a closing bracket that does not match, -3 past `maxDepth`.
  ;; With `needleCount` > 0, also searches that many needles (see the memory layout) from `p` on: `hitEnd`.
  ;; Records mode (`out` > 0; the scan starts inside a record, `base` is the nesting of Records): at the end of
  ;; each record, writes its end address and whether a needle matched inside it (two i32) at `out`, and goes
  ;; on when `,{` follows and fewer than `outMax` are written; else returns -4 (the state is `base`, outside
  ;; strings, the reader goes on after the last record). -1, -2 and -3 as above. `recordCount`: how many.
  (func (export "scan")
    (param $p i32) (param $end i32) (param $base i32) (param $depth i32) (param $in i32) (param $esc i32)
    (param $maxDepth i32) (param $needleCount i32) (param $out i32) (param $outMax i32)
    (result i32)
    (local $valid i32) (local $validMask i64) (local $backslashes i64) (local $quotes i64)
    (local $brackets i64) (local $potential i64) (local $code i64) (local $escaped i64) (local $escapes i64)
    (local $parity i64) (local $structural i64) (local $bit i64) (local $at i32) (local $b i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $f0 v128) (local $f1 v128)
    (local $f2 v128) (local $f3 v128) (local $rawQuotes i64)
    ;; The first needle, decoded once: its probe's offset and byte, and its first byte (for the sieve).
    (local $probeAt i32) (local $probe v128) (local $first i32) (local $candidates i64) (local $k i32)
    ;; 1 when the first needle starts with a quote, 2 with a backslash (its sieve), else 0; `probeFirst`: its
    ;; probe is that first byte, so the sieve alone gives the candidates.
    (local $sieveKind i32) (local $probeFirst i32)
    ;; Whether every further needle starts with a backslash (then blocks without one skip them).
    (local $restAfterBackslash i32)
    (global.set $hitEnd (i32.const 0x7fffffff))
    (global.set $hitFrom (i32.sub (local.get $p) (i32.const 1)))
    (global.set $recordCount (i32.const 0))
    (if (local.get $needleCount)
      (then
        (local.set $probeAt (i32.load8_u (i32.const 257)))
        (local.set $first (i32.load8_u (i32.add (i32.const 272) (i32.load8_u (i32.const 259)))))
        (local.set $probe
          (i8x16.splat
            (i32.load8_u (i32.add (i32.add (i32.const 272) (i32.load8_u (i32.const 259))) (local.get $probeAt)))))
        (local.set $sieveKind
          (select (i32.const 1) (select (i32.const 2) (i32.const 0) (i32.eq (local.get $first) (i32.const 0x5c)))
                  (i32.eq (local.get $first) (i32.const 0x22))))
        (local.set $probeFirst (i32.and (i32.eqz (local.get $probeAt)) (i32.ne (local.get $sieveKind) (i32.const 0))))
        (local.set $restAfterBackslash (i32.const 1))
        (local.set $k (i32.const 1))
        (block $decoded
          (loop $rest
            (br_if $decoded (i32.ge_u (local.get $k) (local.get $needleCount)))
            (if (i32.ne
                  (i32.load8_u
                    (i32.add (i32.const 272) (i32.load8_u offset=259 (i32.shl (local.get $k) (i32.const 2)))))
                  (i32.const 0x5c))
              (then (local.set $restAfterBackslash (i32.const 0))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $rest)))))
    (block $finished
      (loop $blocks
        (br_if $finished (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $valid (i32.sub (local.get $end) (local.get $p)))
        (if (i32.ge_u (local.get $valid) (i32.const 64))
          (then
            (local.set $valid (i32.const 64))
            (local.set $validMask (i64.const -1)))
          (else
            (local.set $validMask
              (i64.sub (i64.shl (i64.const 1) (i64.extend_i32_u (local.get $valid))) (i64.const 1)))))
        (local.set $v0 (v128.load (local.get $p)))
        (local.set $v1 (v128.load offset=16 (local.get $p)))
        (local.set $v2 (v128.load offset=32 (local.get $p)))
        (local.set $v3 (v128.load offset=48 (local.get $p)))
        ;; 2. Escapes (simdjson's json_escape_scanner): `escaped` marks every byte a backslash escapes.
        ;; Most blocks hold no backslash: their mask is built only when one is there.
        (local.set $f0 (i8x16.eq (local.get $v0) (i8x16.splat (i32.const 0x5c))))
        (local.set $f1 (i8x16.eq (local.get $v1) (i8x16.splat (i32.const 0x5c))))
        (local.set $f2 (i8x16.eq (local.get $v2) (i8x16.splat (i32.const 0x5c))))
        (local.set $f3 (i8x16.eq (local.get $v3) (i8x16.splat (i32.const 0x5c))))
        (local.set $backslashes (i64.const 0))
        (if (v128.any_true (v128.or (v128.or (local.get $f0) (local.get $f1)) (v128.or (local.get $f2) (local.get $f3))))
          (then
            (local.set $backslashes
              (i64.and
                (i64.or
                  (i64.or
                    (i64.extend_i32_u (i8x16.bitmask (local.get $f0)))
                    (i64.shl (i64.extend_i32_u (i8x16.bitmask (local.get $f1))) (i64.const 16)))
                  (i64.or
                    (i64.shl (i64.extend_i32_u (i8x16.bitmask (local.get $f2))) (i64.const 32))
                    (i64.shl (i64.extend_i32_u (i8x16.bitmask (local.get $f3))) (i64.const 48))))
                (local.get $validMask)))))
        (if (i64.eqz (local.get $backslashes))
          (then
            (local.set $escaped (i64.extend_i32_u (local.get $esc)))
            (local.set $esc (i32.const 0)))
          (else
            (local.set $potential
              (i64.and (local.get $backslashes) (i64.xor (i64.extend_i32_u (local.get $esc)) (i64.const -1))))
            (local.set $code
              (i64.xor
                (i64.sub
                  (i64.or (i64.shl (local.get $potential) (i64.const 1)) (i64.const 0xAAAAAAAAAAAAAAAA))
                  (local.get $potential))
                (i64.const 0xAAAAAAAAAAAAAAAA)))
            (local.set $escaped
              (i64.xor (local.get $code) (i64.or (local.get $backslashes) (i64.extend_i32_u (local.get $esc)))))
            (local.set $escapes (i64.and (local.get $code) (local.get $backslashes)))
            ;; The byte after the block's last valid byte is escaped when that byte is an escaping backslash.
            (local.set $esc
              (i32.wrap_i64
                (i64.and
                  (i64.shr_u (local.get $escapes) (i64.extend_i32_u (i32.sub (local.get $valid) (i32.const 1))))
                  (i64.const 1))))))
        (local.set $rawQuotes
          (i64.and
            (i64.or
              (i64.or
                (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v0) (i8x16.splat (i32.const 0x22)))))
                (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v1) (i8x16.splat (i32.const 0x22))))) (i64.const 16)))
              (i64.or
                (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v2) (i8x16.splat (i32.const 0x22))))) (i64.const 32))
                (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v3) (i8x16.splat (i32.const 0x22))))) (i64.const 48))))
            (local.get $validMask)))
        (local.set $quotes (i64.and (local.get $rawQuotes) (i64.xor (local.get $escaped) (i64.const -1))))
        ;; 3. Prefix XOR: bit i is the parity of the quotes at positions 0..i.
        (local.set $parity (local.get $quotes))
        (local.set $parity (i64.xor (local.get $parity) (i64.shl (local.get $parity) (i64.const 1))))
        (local.set $parity (i64.xor (local.get $parity) (i64.shl (local.get $parity) (i64.const 2))))
        (local.set $parity (i64.xor (local.get $parity) (i64.shl (local.get $parity) (i64.const 4))))
        (local.set $parity (i64.xor (local.get $parity) (i64.shl (local.get $parity) (i64.const 8))))
        (local.set $parity (i64.xor (local.get $parity) (i64.shl (local.get $parity) (i64.const 16))))
        (local.set $parity (i64.xor (local.get $parity) (i64.shl (local.get $parity) (i64.const 32))))
        ;; 5. Needles, before step 4 may return at the container's end inside this block.
        ;; The first needle inline (most blocks hold no candidate for it), the others by a call when the block
        ;; may hold one.
        (if (local.get $needleCount)
          (then
            (local.set $candidates
              (i64.and
                (local.get $validMask)
                (select (local.get $rawQuotes)
                        (select (local.get $backslashes) (i64.const -1) (i32.eq (local.get $sieveKind) (i32.const 2)))
                        (i32.eq (local.get $sieveKind) (i32.const 1)))))
            (if (i32.and (i32.eqz (local.get $probeFirst)) (i32.eqz (i64.eqz (local.get $candidates))))
              (then
                (local.set $candidates
                  (i64.and
                    (local.get $candidates)
                    (i64.or
                      (i64.or
                        (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.load (i32.add (local.get $p) (local.get $probeAt))) (local.get $probe))))
                        (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.load offset=16 (i32.add (local.get $p) (local.get $probeAt))) (local.get $probe)))) (i64.const 16)))
                      (i64.or
                        (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.load offset=32 (i32.add (local.get $p) (local.get $probeAt))) (local.get $probe)))) (i64.const 32))
                        (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.load offset=48 (i32.add (local.get $p) (local.get $probeAt))) (local.get $probe)))) (i64.const 48))))))))
            (if (i32.eqz (i64.eqz (local.get $candidates)))
              (then (call $verify (i32.const 0) (local.get $p) (local.get $candidates) (local.get $end))))
            (if (i32.and
                  (i32.gt_u (local.get $needleCount) (i32.const 1))
                  (i32.or (i32.eqz (local.get $restAfterBackslash)) (i32.eqz (i64.eqz (local.get $backslashes)))))
              (then
                (call $needles (local.get $p) (local.get $validMask) (local.get $backslashes) (local.get $rawQuotes)
                               (local.get $end) (i32.const 1) (local.get $needleCount))))))
        ;; 4. Brackets outside strings: the state after a bracket (equal to the state before it) is outside.
        ;; The four brackets are the bytes b with b & 0xd9 = 0x59, with 'Y', 'y', '_' and DEL, which valid JSON
        ;; never holds outside strings (and which the visit below passes over): one mask finds all four.
        (local.set $f0 (i8x16.splat (i32.const 0xd9)))
        (local.set $f1 (i8x16.splat (i32.const 0x59)))
        (local.set $brackets
          (i64.or
            (i64.or
              (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.and (local.get $v0) (local.get $f0)) (local.get $f1))))
              (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.and (local.get $v1) (local.get $f0)) (local.get $f1)))) (i64.const 16)))
            (i64.or
              (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.and (local.get $v2) (local.get $f0)) (local.get $f1)))) (i64.const 32))
              (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.and (local.get $v3) (local.get $f0)) (local.get $f1)))) (i64.const 48)))))
        (local.set $structural
          (i64.and
            (i64.and (local.get $brackets) (local.get $validMask))
            (if (result i64) (local.get $in)
              (then (local.get $parity))
              (else (i64.xor (local.get $parity) (i64.const -1))))))
        (loop $visit
          (if (i32.eqz (i64.eqz (local.get $structural)))
            (then
              (local.set $bit (i64.ctz (local.get $structural)))
              (local.set $structural (i64.and (local.get $structural) (i64.sub (local.get $structural) (i64.const 1))))
              (local.set $at (i32.add (local.get $p) (i32.wrap_i64 (local.get $bit))))
              (local.set $b (i32.load8_u (local.get $at)))
              ;; Bits 0x06 of the byte: 2 for `{` and `[`, 4 for `}` and `]`, 0 or 6 for the bytes that are none.
              (if (i32.eq (i32.and (local.get $b) (i32.const 6)) (i32.const 2))
                (then
                  (if (i32.ge_u (local.get $depth) (local.get $maxDepth))
                    (then
                      (global.set $errorAt (local.get $at))
                      (return (i32.const -3))))
                  (i32.store8 (local.get $depth) (local.get $b))
                  (local.set $depth (i32.add (local.get $depth) (i32.const 1))))
                (else
                  (br_if $visit (i32.ne (i32.and (local.get $b) (i32.const 6)) (i32.const 4)))
                  ;; `}` and `]` are their openers plus 2 in ASCII.
                  (if (i32.eqz (local.get $depth))
                    (then
                      (global.set $errorAt (local.get $at))
                      (return (i32.const -2))))
                  (if (i32.ne (i32.load8_u (i32.sub (local.get $depth) (i32.const 1)))
                              (i32.sub (local.get $b) (i32.const 2)))
                    (then
                      (global.set $errorAt (local.get $at))
                      (return (i32.const -2))))
                  (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
                  (if (i32.eq (local.get $depth) (local.get $base))
                    (then
                      (if (i32.eqz (local.get $out))
                        (then
                          (call $save (local.get $depth) (i32.const 0) (i32.const 0))
                          (return (i32.add (local.get $at) (i32.const 1)))))
                      ;; 6. A record ends after `at`: its end, and whether a needle matched inside it.
                      (i32.store (local.get $out) (i32.add (local.get $at) (i32.const 1)))
                      (i32.store offset=4 (local.get $out)
                        (i32.le_u (global.get $hitEnd) (i32.add (local.get $at) (i32.const 1))))
                      (local.set $out (i32.add (local.get $out) (i32.const 8)))
                      (global.set $recordCount (i32.add (global.get $recordCount) (i32.const 1)))
                      (if (i32.or
                            (i32.or
                              (i32.ge_u (global.get $recordCount) (local.get $outMax))
                              (i32.ge_u (i32.add (local.get $at) (i32.const 2)) (local.get $end)))
                            (i32.ne (i32.load16_u offset=1 (local.get $at)) (i32.const 0x7b2c)))
                        (then
                          (call $save (local.get $depth) (i32.const 0) (i32.const 0))
                          (return (i32.const -4))))
                      ;; The next record opens at at+2 (its brace is visited as a bracket, in this block or
                      ;; the next): needle matches count from there on, this block's searched again.
                      (global.set $hitFrom (i32.add (local.get $at) (i32.const 2)))
                      (global.set $hitEnd (i32.const 0x7fffffff))
                      (if (local.get $needleCount)
                        (then
                          (call $needles (local.get $p) (local.get $validMask) (local.get $backslashes)
                                         (local.get $rawQuotes) (local.get $end) (i32.const 0)
                                         (local.get $needleCount))))))))
              (br $visit))))
        (local.set $in (i32.xor (local.get $in) (i32.wrap_i64 (i64.and (i64.popcnt (local.get $quotes)) (i64.const 1)))))
        (local.set $p (i32.add (local.get $p) (local.get $valid)))
        (br $blocks)))
    (call $save (local.get $depth) (local.get $in) (local.get $esc))
    (i32.const -1))

  (func $save (param $depth i32) (param $in i32) (param $esc i32)
    (global.set $outDepth (local.get $depth))
    (global.set $outInString (local.get $in))
    (global.set $outEscape (local.get $esc)))
)
