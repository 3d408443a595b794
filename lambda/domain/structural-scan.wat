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
;;
;; Memory layout: bytes [0, 256) hold the bracket stack (the opening byte of each open container, as the
;; reader keeps it); [256, 272) up to four needle descriptors of 4 bytes (length, probe offset, unused, offset
;; of the needle's bytes in [272, 512)); the input chunk starts at byte 512; the reader keeps 64 bytes plus the
;; longest needle of slack after it, so no load runs past the memory (bytes past the end are masked out).
;;
;; Regenerate lambda/domain/structural-scan-wasm.ts with `npm run build:wasm` after editing this file
;; (a test fails when the two differ).
(module
  (memory (export "memory") 1)

  ;; State after a call: nesting depth, inside a string, escape pending; offset of a malformed byte.
  (global $outDepth (export "outDepth") (mut i32) (i32.const 0))
  (global $outInString (export "outInString") (mut i32) (i32.const 0))
  (global $outEscape (export "outEscape") (mut i32) (i32.const 0))
  (global $errorAt (export "errorAt") (mut i32) (i32.const 0))
  ;; Smallest end address of a needle match since the call began (0x7fffffff: none).
  (global $hitEnd (export "hitEnd") (mut i32) (i32.const 0x7fffffff))

  ;; Bit i set when byte p+i equals `byte`, for i in [0, 64).
  (func $equal (param $p i32) (param $byte i32) (result i64)
    (local $splat v128)
    (local.set $splat (i8x16.splat (local.get $byte)))
    (i64.or
      (i64.or
        (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.load (local.get $p)) (local.get $splat))))
        (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.load offset=16 (local.get $p)) (local.get $splat))))
                 (i64.const 16)))
      (i64.or
        (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.load offset=32 (local.get $p)) (local.get $splat))))
                 (i64.const 32))
        (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.load offset=48 (local.get $p)) (local.get $splat))))
                 (i64.const 48)))))

  ;; Bit i set when lane i of the 64 bytes a|b|c|d equals `byte`: the block's masks share its four loads.
  (func $mask (param $a v128) (param $b v128) (param $c v128) (param $d v128) (param $byte i32) (result i64)
    (local $splat v128)
    (local.set $splat (i8x16.splat (local.get $byte)))
    (i64.or
      (i64.or
        (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $a) (local.get $splat))))
        (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $b) (local.get $splat)))) (i64.const 16)))
      (i64.or
        (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $c) (local.get $splat)))) (i64.const 32))
        (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $d) (local.get $splat)))) (i64.const 48)))))

  ;; Searches the block at `p` (positions of `valid`; `backslashes` its backslash mask) for each of the `count`
  ;; needles; a match must end by `end`.
  (func $needles (param $p i32) (param $valid i64) (param $backslashes i64) (param $end i32) (param $count i32)
    (local $k i32) (local $desc i32) (local $len i32) (local $bytes i32) (local $o i32) (local $probe i32)
    (local $candidates i64) (local $q i32) (local $i i32)
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $k) (local.get $count)))
        (local.set $desc (i32.add (i32.const 256) (i32.shl (local.get $k) (i32.const 2))))
        (local.set $len (i32.load8_u (local.get $desc)))
        (local.set $o (i32.load8_u offset=1 (local.get $desc)))
        (local.set $bytes (i32.add (i32.const 272) (i32.load8_u offset=3 (local.get $desc))))
        (local.set $probe (i32.load8_u (i32.add (local.get $bytes) (local.get $o))))
        (local.set $candidates
          (i64.and
            (local.get $valid)
            (if (result i64) (i32.and (i32.eqz (local.get $o)) (i32.eq (local.get $probe) (i32.const 0x5c)))
              (then (local.get $backslashes))
              (else (call $equal (i32.add (local.get $p) (local.get $o)) (local.get $probe))))))
        (block $nextNeedle
          (loop $candidate
            (br_if $nextNeedle (i64.eqz (local.get $candidates)))
            (local.set $q (i32.add (local.get $p) (i32.wrap_i64 (i64.ctz (local.get $candidates)))))
            (local.set $candidates (i64.and (local.get $candidates) (i64.sub (local.get $candidates) (i64.const 1))))
            ;; Only a match inside the chunk that ends before the best one so far matters.
            (if (i32.and
                  (i32.le_u (i32.add (local.get $q) (local.get $len)) (local.get $end))
                  (i32.lt_u (i32.add (local.get $q) (local.get $len)) (global.get $hitEnd)))
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
            (br $candidate)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $each))))

  ;; Scans [p, end) starting at nesting `depth` (string open `in`, escape pending `esc`).
  ;; Returns the address after the bracket that brings the nesting back to `base` outside any string,
  ;; -1 when `end` comes first, -2 for a closing bracket that does not match, -3 past `maxDepth`.
  ;; With `needleCount` > 0, also searches that many needles (see the memory layout) from `p` on: `hitEnd`.
  (func (export "scan")
    (param $p i32) (param $end i32) (param $base i32) (param $depth i32) (param $in i32) (param $esc i32)
    (param $maxDepth i32) (param $needleCount i32)
    (result i32)
    (local $valid i32) (local $validMask i64) (local $backslashes i64) (local $quotes i64) (local $opens i64)
    (local $brackets i64) (local $potential i64) (local $code i64) (local $escaped i64) (local $escapes i64)
    (local $parity i64) (local $structural i64) (local $bit i64) (local $at i32) (local $b i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $f0 v128) (local $f1 v128)
    (local $f2 v128) (local $f3 v128) (local $case v128)
    (global.set $hitEnd (i32.const 0x7fffffff))
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
        (local.set $backslashes
          (i64.and
            (call $mask (local.get $v0) (local.get $v1) (local.get $v2) (local.get $v3) (i32.const 0x5c))
            (local.get $validMask)))
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
        (local.set $quotes
          (i64.and
            (i64.and
              (call $mask (local.get $v0) (local.get $v1) (local.get $v2) (local.get $v3) (i32.const 0x22))
              (local.get $validMask))
            (i64.xor (local.get $escaped) (i64.const -1))))
        ;; 3. Prefix XOR: bit i is the parity of the quotes at positions 0..i.
        (local.set $parity (local.get $quotes))
        (local.set $parity (i64.xor (local.get $parity) (i64.shl (local.get $parity) (i64.const 1))))
        (local.set $parity (i64.xor (local.get $parity) (i64.shl (local.get $parity) (i64.const 2))))
        (local.set $parity (i64.xor (local.get $parity) (i64.shl (local.get $parity) (i64.const 4))))
        (local.set $parity (i64.xor (local.get $parity) (i64.shl (local.get $parity) (i64.const 8))))
        (local.set $parity (i64.xor (local.get $parity) (i64.shl (local.get $parity) (i64.const 16))))
        (local.set $parity (i64.xor (local.get $parity) (i64.shl (local.get $parity) (i64.const 32))))
        ;; 5. Needles, before step 4 may return at the container's end inside this block.
        (if (local.get $needleCount)
          (then
            (call $needles (local.get $p) (local.get $validMask) (local.get $backslashes) (local.get $end)
                           (local.get $needleCount))))
        ;; 4. Brackets outside strings: the state after a bracket (equal to the state before it) is outside.
        ;; `[` and `]` are `{` and `}` with bit 0x20 cleared, and no other byte becomes 0x7b or 0x7d when it is set:
        ;; two masks find all four brackets.
        (local.set $case (i8x16.splat (i32.const 0x20)))
        (local.set $f0 (v128.or (local.get $v0) (local.get $case)))
        (local.set $f1 (v128.or (local.get $v1) (local.get $case)))
        (local.set $f2 (v128.or (local.get $v2) (local.get $case)))
        (local.set $f3 (v128.or (local.get $v3) (local.get $case)))
        (local.set $opens (call $mask (local.get $f0) (local.get $f1) (local.get $f2) (local.get $f3) (i32.const 0x7b)))
        (local.set $brackets
          (i64.or
            (local.get $opens)
            (call $mask (local.get $f0) (local.get $f1) (local.get $f2) (local.get $f3) (i32.const 0x7d))))
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
              (if (i32.eqz (i64.eqz (i64.and (local.get $opens) (i64.shl (i64.const 1) (local.get $bit)))))
                (then
                  (if (i32.ge_u (local.get $depth) (local.get $maxDepth))
                    (then
                      (global.set $errorAt (local.get $at))
                      (return (i32.const -3))))
                  (i32.store8 (local.get $depth) (local.get $b))
                  (local.set $depth (i32.add (local.get $depth) (i32.const 1))))
                (else
                  ;; `}` and `]` are their openers plus 2 in ASCII.
                  (if (i32.or
                        (i32.eqz (local.get $depth))
                        (i32.ne (i32.load8_u (i32.sub (local.get $depth) (i32.const 1)))
                                (i32.sub (local.get $b) (i32.const 2))))
                    (then
                      (global.set $errorAt (local.get $at))
                      (return (i32.const -2))))
                  (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
                  (if (i32.eq (local.get $depth) (local.get $base))
                    (then
                      (call $save (local.get $depth) (i32.const 0) (i32.const 0))
                      (return (i32.add (local.get $at) (i32.const 1)))))))
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
