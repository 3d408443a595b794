;; The structural scan of the CloudTrail reader, in WebAssembly with 128-bit SIMD.
;;
;; Finds where a JSON container that is already open ends: tracks string state (quotes, backslash escapes)
;; and bracket nesting, 16 bytes at a time. A block without backslashes is classified with SIMD compares
;; and a prefix-XOR of its quote mask (bit i set = inside a string after byte i); only the brackets outside
;; strings are then visited one by one. A block with a backslash (or an escape pending from the previous
;; block) takes the byte-by-byte path, which is exact for any escape sequence.
;;
;; Memory layout: bytes [0, 256) hold the bracket stack (the opening byte of each open container, as the
;; reader keeps it); the input chunk starts at byte 256; the reader keeps 16 bytes of slack after it so a
;; block load never runs past the memory.
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

  ;; Scans [p, end) starting at nesting `depth` (string state `in`, escape pending `esc`).
  ;; Returns the address after the bracket that brings the nesting back to `base` outside any string,
  ;; -1 when `end` comes first, -2 for a closing bracket that does not match, -3 past `maxDepth`.
  (func (export "scan")
    (param $p i32) (param $end i32) (param $base i32) (param $depth i32) (param $in i32) (param $esc i32)
    (param $maxDepth i32)
    (result i32)
    (local $v v128) (local $valid i32) (local $validMask i32) (local $backslashes i32) (local $quotes i32)
    (local $opens i32) (local $closes i32) (local $parity i32) (local $structural i32) (local $bit i32)
    (local $at i32) (local $b i32) (local $limit i32)
    (block $finished
      (loop $blocks
        (br_if $finished (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $valid (i32.sub (local.get $end) (local.get $p)))
        (if (i32.gt_u (local.get $valid) (i32.const 16)) (then (local.set $valid (i32.const 16))))
        (local.set $validMask (i32.sub (i32.shl (i32.const 1) (local.get $valid)) (i32.const 1)))
        (local.set $v (v128.load (local.get $p)))
        (local.set $backslashes
          (i32.and (i8x16.bitmask (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x5c)))) (local.get $validMask)))
        (if (i32.or (local.get $backslashes) (local.get $esc))
          (then
            ;; Byte-by-byte path for a block with escapes.
            (local.set $limit (i32.add (local.get $p) (local.get $valid)))
            (loop $bytes
              (if (i32.lt_u (local.get $p) (local.get $limit))
                (then
                  (local.set $b (i32.load8_u (local.get $p)))
                  (local.set $p (i32.add (local.get $p) (i32.const 1)))
                  (block $next
                    (if (local.get $in)
                      (then
                        (if (local.get $esc) (then (local.set $esc (i32.const 0)) (br $next)))
                        (if (i32.eq (local.get $b) (i32.const 0x5c)) (then (local.set $esc (i32.const 1)) (br $next)))
                        (if (i32.eq (local.get $b) (i32.const 0x22)) (then (local.set $in (i32.const 0))))
                        (br $next)))
                    (if (i32.eq (local.get $b) (i32.const 0x22)) (then (local.set $in (i32.const 1)) (br $next)))
                    (if (i32.or (i32.eq (local.get $b) (i32.const 0x7b)) (i32.eq (local.get $b) (i32.const 0x5b)))
                      (then
                        (if (i32.ge_u (local.get $depth) (local.get $maxDepth))
                          (then
                            (global.set $errorAt (i32.sub (local.get $p) (i32.const 1)))
                            (return (i32.const -3))))
                        (i32.store8 (local.get $depth) (local.get $b))
                        (local.set $depth (i32.add (local.get $depth) (i32.const 1)))
                        (br $next)))
                    (if (i32.or (i32.eq (local.get $b) (i32.const 0x7d)) (i32.eq (local.get $b) (i32.const 0x5d)))
                      (then
                        ;; `}` and `]` are their openers plus 2 in ASCII.
                        (if (i32.or
                              (i32.eqz (local.get $depth))
                              (i32.ne (i32.load8_u (i32.sub (local.get $depth) (i32.const 1)))
                                      (i32.sub (local.get $b) (i32.const 2))))
                          (then
                            (global.set $errorAt (i32.sub (local.get $p) (i32.const 1)))
                            (return (i32.const -2))))
                        (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
                        (if (i32.eq (local.get $depth) (local.get $base))
                          (then
                            (call $save (local.get $depth) (i32.const 0) (i32.const 0))
                            (return (local.get $p)))))))
                  (br $bytes))))
            (br $blocks)))
        ;; SIMD path: no backslash in the block and no escape pending.
        (local.set $quotes
          (i32.and (i8x16.bitmask (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x22)))) (local.get $validMask)))
        (local.set $opens
          (i8x16.bitmask
            (v128.or (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x7b)))
                     (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x5b))))))
        (local.set $closes
          (i8x16.bitmask
            (v128.or (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x7d)))
                     (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x5d))))))
        ;; Prefix XOR: bit i is the parity of the quotes at positions 0..i.
        (local.set $parity (local.get $quotes))
        (local.set $parity (i32.xor (local.get $parity) (i32.shl (local.get $parity) (i32.const 1))))
        (local.set $parity (i32.xor (local.get $parity) (i32.shl (local.get $parity) (i32.const 2))))
        (local.set $parity (i32.xor (local.get $parity) (i32.shl (local.get $parity) (i32.const 4))))
        (local.set $parity (i32.xor (local.get $parity) (i32.shl (local.get $parity) (i32.const 8))))
        ;; A bracket is structural when the state after it (equal to the state before it) is outside a string.
        (local.set $structural
          (i32.and
            (i32.and (i32.or (local.get $opens) (local.get $closes)) (local.get $validMask))
            (if (result i32) (local.get $in)
              (then (local.get $parity))
              (else (i32.xor (local.get $parity) (i32.const -1))))))
        (loop $brackets
          (if (local.get $structural)
            (then
              (local.set $bit (i32.ctz (local.get $structural)))
              (local.set $structural (i32.and (local.get $structural) (i32.sub (local.get $structural) (i32.const 1))))
              (local.set $at (i32.add (local.get $p) (local.get $bit)))
              (local.set $b (i32.load8_u (local.get $at)))
              (if (i32.and (local.get $opens) (i32.shl (i32.const 1) (local.get $bit)))
                (then
                  (if (i32.ge_u (local.get $depth) (local.get $maxDepth))
                    (then
                      (global.set $errorAt (local.get $at))
                      (return (i32.const -3))))
                  (i32.store8 (local.get $depth) (local.get $b))
                  (local.set $depth (i32.add (local.get $depth) (i32.const 1))))
                (else
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
              (br $brackets))))
        (local.set $in (i32.xor (local.get $in) (i32.and (i32.popcnt (local.get $quotes)) (i32.const 1))))
        (local.set $p (i32.add (local.get $p) (local.get $valid)))
        (br $blocks)))
    (call $save (local.get $depth) (local.get $in) (local.get $esc))
    (i32.const -1))

  (func $save (param $depth i32) (param $in i32) (param $esc i32)
    (global.set $outDepth (local.get $depth))
    (global.set $outInString (local.get $in))
    (global.set $outEscape (local.get $esc)))
)
