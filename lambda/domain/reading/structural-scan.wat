;; The structural scan of the CloudTrail reader, in WebAssembly with 128-bit SIMD.
;;
;; Finds where a JSON container that is already open ends: tracks string state and bracket nesting, 64 bytes
;; at a time, the way simdjson's first stage does:
;; 1. SIMD compares give 64-bit masks of backslashes, quotes and brackets in the block.
;; 2. Escaped bytes (the byte after an odd run of backslashes) come from the backslash mask by carry
;;    arithmetic, carried from block to block; escaped quotes are dropped.
;; 3. A prefix XOR of the quote mask gives, for every byte, whether a string is open after it.
;; 4. Only brackets outside strings are visited, one by one, to keep the nesting and match the brackets.
;;
;; Memory layout: bytes [0, 256) hold the bracket stack (the opening byte of each open container, as the
;; reader keeps it); the input chunk starts at byte 256; the reader keeps 64 bytes of slack after it, so a
;; block load never runs past the memory (bytes past the end are masked out).
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

  ;; Scans [p, end) starting at nesting `depth` (string open `in`, escape pending `esc`).
  ;; Returns the address after the bracket that brings the nesting back to `base` outside any string,
  ;; -1 when `end` comes first, -2 for a closing bracket that does not match, -3 past `maxDepth`.
  (func (export "scan")
    (param $p i32) (param $end i32) (param $base i32) (param $depth i32) (param $in i32) (param $esc i32)
    (param $maxDepth i32)
    (result i32)
    (local $valid i32) (local $validMask i64) (local $backslashes i64) (local $quotes i64) (local $opens i64)
    (local $brackets i64) (local $potential i64) (local $code i64) (local $escaped i64) (local $escapes i64)
    (local $parity i64) (local $structural i64) (local $bit i64) (local $at i32) (local $b i32)
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
        ;; 2. Escapes (simdjson's json_escape_scanner): `escaped` marks every byte a backslash escapes.
        (local.set $backslashes (i64.and (call $equal (local.get $p) (i32.const 0x5c)) (local.get $validMask)))
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
            (i64.and (call $equal (local.get $p) (i32.const 0x22)) (local.get $validMask))
            (i64.xor (local.get $escaped) (i64.const -1))))
        ;; 3. Prefix XOR: bit i is the parity of the quotes at positions 0..i.
        (local.set $parity (local.get $quotes))
        (local.set $parity (i64.xor (local.get $parity) (i64.shl (local.get $parity) (i64.const 1))))
        (local.set $parity (i64.xor (local.get $parity) (i64.shl (local.get $parity) (i64.const 2))))
        (local.set $parity (i64.xor (local.get $parity) (i64.shl (local.get $parity) (i64.const 4))))
        (local.set $parity (i64.xor (local.get $parity) (i64.shl (local.get $parity) (i64.const 8))))
        (local.set $parity (i64.xor (local.get $parity) (i64.shl (local.get $parity) (i64.const 16))))
        (local.set $parity (i64.xor (local.get $parity) (i64.shl (local.get $parity) (i64.const 32))))
        ;; 4. Brackets outside strings: the state after a bracket (equal to the state before it) is outside.
        (local.set $opens
          (i64.or (call $equal (local.get $p) (i32.const 0x7b)) (call $equal (local.get $p) (i32.const 0x5b))))
        (local.set $brackets
          (i64.or
            (local.get $opens)
            (i64.or (call $equal (local.get $p) (i32.const 0x7d)) (call $equal (local.get $p) (i32.const 0x5d)))))
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
