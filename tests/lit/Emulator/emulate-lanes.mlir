// RUN: skim-opt %s --skim-emulate-lanes --split-input-file --verify-diagnostics | FileCheck %s

// A kernel becomes <name>_lane (one GPU thread, per-lane and warp-wide ops as
// calls into the lane emulator's runtime, no GPU address spaces left) and
// <name> (one grid block in the CPU kernel ABI: five words per pointer, one
// per index, then x, y, z), which runs the lane function over the CTA with
// the block size and shared bytes of the launch.

// CHECK: module attributes {skim.gpu_block = 64 : i64, skim.gpu_shared_bytes = {k = 256 : i64}}
// CHECK-NOT: gpu.module
// CHECK-LABEL: func.func private @k_lane(
// CHECK-SAME: %[[ARGS:.+]]: !llvm.ptr, %[[LANE:.+]]: !llvm.ptr)
// The register array declared in the loop is hoisted to the entry block.
// CHECK-NEXT: %[[REGS:.+]] = memref.alloca() : memref<4xf32>
// CHECK: %[[SCRATCH:.+]] = llvm.alloca %{{.+}} x i32 {alignment = 16 : i64}
// CHECK: %[[P:.+]] = llvm.load %{{.+}} : !llvm.ptr -> !llvm.ptr
// CHECK: %[[N64:.+]] = llvm.load %{{.+}} : !llvm.ptr -> i64
// CHECK: %[[N:.+]] = arith.index_cast %[[N64]] : i64 to index
// CHECK: %[[TID:.+]] = call @skim_emu_thread_id(%[[LANE]], %{{.+}}) : (!llvm.ptr, i32) -> index
// CHECK: call @skim_emu_block_id(%[[LANE]], %{{.+}}) : (!llvm.ptr, i32) -> index
// CHECK: %[[BASE:.+]] = call @skim_emu_shared(%[[LANE]]) : (!llvm.ptr) -> !llvm.ptr
// CHECK: %[[SMEM:.+]] = builtin.unrealized_conversion_cast %{{.+}} : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)> to memref<?xi8>
// CHECK: memref.view %[[SMEM]][%{{.+}}][] : memref<?xi8> to memref<64xf32>
// CHECK: call @skim_emu_barrier(%[[LANE]])
// CHECK: %[[BITS:.+]] = llvm.bitcast %{{.+}} : f32 to i32
// CHECK: %[[SHFL:.+]] = call @skim_emu_shfl(%[[LANE]], %{{.+}}, %{{.+}}, %[[BITS]], %{{.+}}, %{{.+}}) : (!llvm.ptr, i32, i32, i32, i32, i32) -> i64
// CHECK: %[[D:.+]] = arith.trunci %[[SHFL]] : i64 to i32
// CHECK: %[[S:.+]] = llvm.bitcast %[[D]] : i32 to f32
// CHECK: %[[E:.+]] = call @skim_emu_ex2(%[[S]]) : (f32) -> f32
// CHECK: %[[SP:.+]] = llvm.inttoptr %{{.+}} : i64 to !llvm.ptr
// CHECK: call @skim_emu_cp_async(%[[LANE]], %[[SP]], %[[P]], %{{.+}}, %{{.+}})
// CHECK: call @skim_emu_cp_async_commit(%[[LANE]])
// CHECK: call @skim_emu_cp_async_wait(%[[LANE]], %{{.+}})
// CHECK: call @skim_emu_ldmatrix(%[[LANE]], %[[SP]], %{{.+}}, %{{.+}}, %[[SCRATCH]])
// CHECK: llvm.insertvalue %{{.+}}[1] : !llvm.struct<(i32, i32)>
// CHECK: call @skim_emu_mma_m16n8k16(%[[LANE]], %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[E]], %[[E]], %[[E]], %[[E]], %[[SCRATCH]])
// CHECK: llvm.insertvalue %{{.+}}[3] : !llvm.struct<(f32, f32, f32, f32)>
// CHECK: call @skim_emu_lane_id(%[[LANE]])
// CHECK: scf.for %{{.+}} = %{{.+}} to %[[N]]
// CHECK-NEXT: memref.store %{{.+}}, %[[REGS]]
// CHECK-NOT: gpu.
// CHECK-NOT: nvvm.
// CHECK-LABEL: func.func @k(
// CHECK-SAME: %{{.+}}: !llvm.ptr, %[[ALIGNED:.+]]: !llvm.ptr, %{{.+}}: i64, %{{.+}}: i64, %{{.+}}: i64, %[[IDX:.+]]: index, %[[X:.+]]: index, %[[Y:.+]]: index, %[[Z:.+]]: index)
// CHECK: %[[WORDS:.+]] = llvm.alloca %{{.+}} x i64
// CHECK: llvm.store %[[ALIGNED]], %{{.+}} : !llvm.ptr, !llvm.ptr
// CHECK: %[[IDX64:.+]] = arith.index_cast %[[IDX]] : index to i64
// CHECK: llvm.store %[[IDX64]], %{{.+}} : i64, !llvm.ptr
// CHECK: %[[FN:.+]] = constant @k_lane : (!llvm.ptr, !llvm.ptr) -> ()
// CHECK-DAG: %[[C64:.+]] = arith.constant 64 : index
// CHECK-DAG: %[[C256:.+]] = arith.constant 256 : index
// CHECK: call @skim_emu_run_cta(%[[FN]], %[[WORDS]], %[[X]], %[[Y]], %[[Z]], %[[C64]], %{{.+}}, %{{.+}}, %[[C256]])
module attributes {gpu.container_module, skim.gpu_block = 64 : i64, skim.gpu_shared_bytes = {k = 256 : i64}} {
  gpu.module @skim_kernels {
    gpu.func @k(%p: !llvm.ptr, %n: index) kernel {
      %tid = gpu.thread_id x
      %bid = gpu.block_id y
      %smem = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
      %c0 = arith.constant 0 : index
      %view = memref.view %smem[%c0][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64xf32, #gpu.address_space<workgroup>>
      %f = arith.constant 1.0 : f32
      memref.store %f, %view[%tid] : memref<64xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      %x = memref.load %view[%tid] : memref<64xf32, #gpu.address_space<workgroup>>
      %one = arith.constant 1 : i32
      %w = arith.constant 32 : i32
      %s, %valid = gpu.shuffle xor %x, %one, %w : f32
      %e = llvm.call_intrinsic "llvm.nvvm.ex2.approx.f32"(%s) : (f32) -> f32
      %base = memref.extract_aligned_pointer_as_index %smem : memref<?xi8, #gpu.address_space<workgroup>> -> index
      %b64 = arith.index_cast %base : index to i64
      %sp = llvm.inttoptr %b64 : i64 to !llvm.ptr<3>
      %gp = llvm.addrspacecast %p : !llvm.ptr to !llvm.ptr<1>
      nvvm.cp.async.shared.global %sp, %gp, 16, cache = cg : !llvm.ptr<3>, !llvm.ptr<1>
      nvvm.cp.async.commit.group
      nvvm.cp.async.wait.group 0
      %r = nvvm.ldmatrix %sp {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<col>, num = 2 : i32, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32)>
      %r0 = llvm.extractvalue %r[0] : !llvm.struct<(i32, i32)>
      %d = nvvm.mma.sync A[%r0, %r0, %r0, %r0] B[%r0, %r0] C[%e, %e, %e, %e] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
      %lane = nvvm.read.ptx.sreg.laneid : i32
      %c1 = arith.constant 1 : index
      scf.for %i = %c0 to %n step %c1 {
        %regs = memref.alloca() : memref<4xf32>
        memref.store %x, %regs[%c0] : memref<4xf32>
      }
      gpu.return
    }
  }
}

// -----

// An operation the emulator does not know is an error naming it, not a
// failure somewhere in the CPU lowering.
module attributes {gpu.container_module, skim.gpu_block = 32 : i64} {
  gpu.module @skim_kernels {
    gpu.func @k() kernel {
      // expected-error @+1 {{'gpu.grid_dim' op lane emulator: no emulation for this operation}}
      %g = gpu.grid_dim x
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module, skim.gpu_block = 32 : i64} {
  gpu.module @skim_kernels {
    gpu.func @k(%p: !llvm.ptr<3>) kernel {
      // expected-error @+1 {{'nvvm.ldmatrix' op lane emulator: only ldmatrix.m8n8 of b16 is emulated}}
      %r = nvvm.ldmatrix %p {eltType = #nvvm.ld_st_matrix_elt_type<b8>, layout = #nvvm.mma_layout<col>, num = 1 : i32, shape = #nvvm.ld_st_matrix_shape<m = 16, n = 16>} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32)>
      gpu.return
    }
  }
}

// -----

module {
  gpu.module @skim_kernels {
    // expected-error @+1 {{kernel 'k': no block size}}
    gpu.func @k() kernel {
      gpu.return
    }
  }
}
