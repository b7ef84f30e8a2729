# CPU check (numpy) of the mma.sync m16n8k16 / ldmatrix(.trans) fragment index formulas used in
# FlashAttentionFwd.cuh (fwd_tc_kernel), FlashAttentionBwd.cuh (bwd_dkdv_tc_kernel) and FlashAttentionBwdTile.cuh
# (bwd_dkdv_tile_kernel, all warps of a CTA, 128- and 64-key blocks): emulates warps per the PTX ISA fragment layouts and compares each
# product with numpy. Run: python3 fragment_layout_check.py   (exit status 1 if any check fails)
import builtins, sys
import numpy as np
rng=np.random.default_rng(0)
failed=[]
def print(*a):   # every check line: a False in it fails the run
    if any(x is False for x in a): failed.append(a)
    builtins.print(*a)
def ldm(flat, addr, trans=False):
    regs=[[None]*4 for _ in range(32)]
    for m in range(4):
        M=np.array([flat[addr[8*m+r]:addr[8*m+r]+8] for r in range(8)])
        for l in range(32):
            g,t=l>>2,l&3
            regs[l][m]=(M[2*t][g],M[2*t+1][g]) if trans else (M[g][2*t],M[g][2*t+1])
    return regs
def mma(C,a,b0,b1):
    A=np.zeros((16,16));B=np.zeros((16,8))
    for l in range(32):
        g,t=l>>2,l&3
        for e in range(2):
            A[g][2*t+e]=a[l][0][e];A[g+8][2*t+e]=a[l][1][e];A[g][2*t+8+e]=a[l][2][e];A[g+8][2*t+8+e]=a[l][3][e]
            B[2*t+e][g]=b0[l][e];B[2*t+8+e][g]=b1[l][e]
    Dm=A@B
    for l in range(32):
        g,t=l>>2,l&3
        for e in range(2):
            C[l][e]+=Dm[g][2*t+e];C[l][2+e]+=Dm[g+8][2*t+e]
def cfrag_to_mat(c, ntiles):  # c[l][nt][4] -> 16 x 8*ntiles
    M=np.zeros((16,8*ntiles))
    for l in range(32):
        g,t=l>>2,l&3
        for nt in range(ntiles):
            for e in range(4):
                M[g+8*(e>>1)][nt*8+2*t+(e&1)]=c[l][nt][e]
    return M
def toA(s,kk):  # per lane from C frags s[l][nt][4]
    return [[(s[l][2*kk][0],s[l][2*kk][1]),(s[l][2*kk][2],s[l][2*kk][3]),(s[l][2*kk+1][0],s[l][2*kk+1][1]),(s[l][2*kk+1][2],s[l][2*kk+1][3])] for l in range(32)]

D=32;BN=32;BM=32;LD=D+8
for warp in (0,1):
    # ---------------- forward
    Q=rng.standard_normal((BM,D));K=rng.standard_normal((BN,D));V=rng.standard_normal((BN,D))
    sQ=np.zeros(BM*LD);sK=np.zeros(BN*LD);sV=np.zeros(BN*LD)
    for r in range(BM): sQ[r*LD:r*LD+D]=Q[r]
    for r in range(BN): sK[r*LD:r*LD+D]=K[r];sV[r*LD:r*LD+D]=V[r]
    s=[[[0.0]*4 for _ in range(BN//8)] for _ in range(32)]
    for kk in range(D//16):
        a=ldm(sQ,[(warp*16+(l&15))*LD+kk*16+(l>>4)*8 for l in range(32)])
        for pp in range(BN//16):
            bf=ldm(sK,[(pp*16+(l&7)+((l>>4)<<3))*LD+kk*16+((l>>3)&1)*8 for l in range(32)])
            mma([x[2*pp] for x in s],a,[r[0] for r in bf],[r[1] for r in bf])
            mma([x[2*pp+1] for x in s],a,[r[2] for r in bf],[r[3] for r in bf])
    S=cfrag_to_mat(s,BN//8)
    print("fwd S ok", np.allclose(S,Q[warp*16:warp*16+16]@K.T))
    o=[[[0.0]*4 for _ in range(D//8)] for _ in range(32)]
    for kk in range(BN//16):
        a=toA(s,kk)
        for pp in range(D//16):
            bf=ldm(sV,[(kk*16+(l&7)+((l>>3)&1)*8)*LD+pp*16+(l>>4)*8 for l in range(32)],trans=True)
            mma([x[2*pp] for x in o],a,[r[0] for r in bf],[r[1] for r in bf])
            mma([x[2*pp+1] for x in o],a,[r[2] for r in bf],[r[3] for r in bf])
    O=cfrag_to_mat(o,D//8)
    print("fwd O ok", np.allclose(O,S@V))
    # ---------------- backward (warp owns keys warp*16..), BR queries
    BR=32;BC=32;LDS=BR+8
    Qb=rng.standard_normal((BR,D));dO=rng.standard_normal((BR,D))
    sQ=np.zeros(BR*LD);sdO=np.zeros(BR*LD)
    for r in range(BR): sQ[r*LD:r*LD+D]=Qb[r];sdO[r*LD:r*LD+D]=dO[r]
    st=[[[0.0]*4 for _ in range(BR//8)] for _ in range(32)]
    dp=[[[0.0]*4 for _ in range(BR//8)] for _ in range(32)]
    for kk in range(D//16):
        ak=ldm(sK,[(warp*16+(l&15))*LD+kk*16+(l>>4)*8 for l in range(32)])
        av=ldm(sV,[(warp*16+(l&15))*LD+kk*16+(l>>4)*8 for l in range(32)])
        for pp in range(BR//16):
            roff=[(pp*16+(l&7)+((l>>4)<<3))*LD+kk*16+((l>>3)&1)*8 for l in range(32)]
            bq=ldm(sQ,roff);bo=ldm(sdO,roff)
            mma([x[2*pp] for x in st],ak,[r[0] for r in bq],[r[1] for r in bq])
            mma([x[2*pp+1] for x in st],ak,[r[2] for r in bq],[r[3] for r in bq])
            mma([x[2*pp] for x in dp],av,[r[0] for r in bo],[r[1] for r in bo])
            mma([x[2*pp+1] for x in dp],av,[r[2] for r in bo],[r[3] for r in bo])
    Kw=K[warp*16:warp*16+16];Vw=V[warp*16:warp*16+16]
    ST=cfrag_to_mat(st,BR//8);DPT=cfrag_to_mat(dp,BR//8)
    print("bwd S^T ok",np.allclose(ST,Kw@Qb.T),"dP^T ok",np.allclose(DPT,Vw@dO.T))
    dv=[[[0.0]*4 for _ in range(D//8)] for _ in range(32)];dk=[[[0.0]*4 for _ in range(D//8)] for _ in range(32)]
    for kk in range(BR//16):
        ap=toA(st,kk);ad=toA(dp,kk)
        for pp in range(D//16):
            roff=[(kk*16+(l&7)+((l>>3)&1)*8)*LD+pp*16+(l>>4)*8 for l in range(32)]
            bo=ldm(sdO,roff,True);bq=ldm(sQ,roff,True)
            mma([x[2*pp] for x in dv],ap,[r[0] for r in bo],[r[1] for r in bo])
            mma([x[2*pp+1] for x in dv],ap,[r[2] for r in bo],[r[3] for r in bo])
            mma([x[2*pp] for x in dk],ad,[r[0] for r in bq],[r[1] for r in bq])
            mma([x[2*pp+1] for x in dk],ad,[r[2] for r in bq],[r[3] for r in bq])
    print("bwd dV ok",np.allclose(cfrag_to_mat(dv,D//8),ST@dO),"dK ok",np.allclose(cfrag_to_mat(dk,D//8),DPT@Qb))
    # dQ: sdS[key][query] full BC x BR (random), dQ = dS(BRxBC) K(BCxD)
    dST=rng.standard_normal((BC,BR));sdS=np.zeros(BC*LDS)
    for r in range(BC): sdS[r*LDS:r*LDS+BR]=dST[r]
    for mt in range(BR//16):
        for pp in range(D//16):
            acc=[[[0.0]*4 for _ in range(2)] for _ in range(32)]
            for kk in range(BC//16):
                a=ldm(sdS,[(kk*16+(l&7)+(l>>4)*8)*LDS+mt*16+((l>>3)&1)*8 for l in range(32)],True)
                bk=ldm(sK,[(kk*16+(l&7)+((l>>3)&1)*8)*LD+pp*16+(l>>4)*8 for l in range(32)],True)
                mma([x[0] for x in acc],a,[r[0] for r in bk],[r[1] for r in bk])
                mma([x[1] for x in acc],a,[r[2] for r in bk],[r[3] for r in bk])
            ref=(dST.T@K)[mt*16:mt*16+16, pp*16:pp*16+16]
            print("bwd dQ tile ok",mt,pp,np.allclose(cfrag_to_mat(acc,2),ref))
# ---------------- bwd_dkdv_tile_kernel: one CTA step, BR = 64 queries x BC = 128 (8 warps) or 64 keys (4 warps)
def zeros(n): return [[[0.0]*4 for _ in range(n)] for _ in range(32)]
def smem(M, ld):
    f=np.zeros(M.shape[0]*ld)
    for r in range(M.shape[0]): f[r*ld:r*ld+M.shape[1]]=M[r]
    return f
for D,BC in ((32,128),(64,128),(96,128),(128,128),(32,64),(64,64)):
    BR=64; LD=D+8; LDP=BC+8; NW=BR*BC//1024   # BwdTileCfg<D> with BC keys per CTA
    WK_S=BC//32; WK_KV=BC//32; WD_KV=NW//WK_KV; PP_KV=D//WD_KV//16
    WN_Q=4 if (NW==8 and (D//4)%16==0) else 2 if (D//2)%16==0 else 1; WM_Q=NW//WN_Q; MT_Q=BR//16//WM_Q; PP_Q=D//WN_Q//16
    Q=rng.standard_normal((BR,D)); dO=rng.standard_normal((BR,D)); K=rng.standard_normal((BC,D)); V=rng.standard_normal((BC,D))
    P=rng.standard_normal((BR,BC)); dS=rng.standard_normal((BR,BC))
    sQ,sdO,sK,sV=smem(Q,LD),smem(dO,LD),smem(K,LD),smem(V,LD)
    S=np.zeros((BR,BC)); DP=np.zeros((BR,BC)); sS=np.zeros(BR*LDP)
    dK=np.zeros((BC,D)); dV=np.zeros((BC,D)); dQ=np.zeros((BR,D)); sP,sdS=smem(P,LDP),smem(dS,LDP)
    for warp in range(NW):
        wq_s,wk_s=warp//WK_S,warp%WK_S; wk_kv,wd_kv=warp//WD_KV,warp%WD_KV; wq_q,wd_q=warp//WN_Q,warp%WN_Q
        # 1. S = Q K^T, dP~ = dO V^T (32 x 32 per warp)
        s=[zeros(4) for _ in range(2)]; dp=[zeros(4) for _ in range(2)]
        for kk in range(D//16):
            aq=[ldm(sQ,[(wq_s*32+mt*16+(l&15))*LD+kk*16+(l>>4)*8 for l in range(32)]) for mt in range(2)]
            ao=[ldm(sdO,[(wq_s*32+mt*16+(l&15))*LD+kk*16+(l>>4)*8 for l in range(32)]) for mt in range(2)]
            for pp in range(2):
                boff=[(wk_s*32+pp*16+(l&7)+((l>>4)<<3))*LD+kk*16+((l>>3)&1)*8 for l in range(32)]
                bk=ldm(sK,boff); bv=ldm(sV,boff)
                for mt in range(2):
                    mma([x[2*pp] for x in s[mt]],aq[mt],[r[0] for r in bk],[r[1] for r in bk])
                    mma([x[2*pp+1] for x in s[mt]],aq[mt],[r[2] for r in bk],[r[3] for r in bk])
                    mma([x[2*pp] for x in dp[mt]],ao[mt],[r[0] for r in bv],[r[1] for r in bv])
                    mma([x[2*pp+1] for x in dp[mt]],ao[mt],[r[2] for r in bv],[r[3] for r in bv])
        for mt in range(2):
            S[wq_s*32+mt*16:wq_s*32+mt*16+16, wk_s*32:wk_s*32+32]=cfrag_to_mat(s[mt],4)
            DP[wq_s*32+mt*16:wq_s*32+mt*16+16, wk_s*32:wk_s*32+32]=cfrag_to_mat(dp[mt],4)
            # 2. the stores to sP / sdS: S itself goes through them here
            for l in range(32):
                g4,tq=l>>2,l&3; qr=wq_s*32+mt*16+g4
                for nt in range(4):
                    col=wk_s*32+nt*8+2*tq
                    sS[qr*LDP+col:qr*LDP+col+2]=s[mt][l][nt][0:2]; sS[(qr+8)*LDP+col:(qr+8)*LDP+col+2]=s[mt][l][nt][2:4]
        # 3. dV += P^T dO, dK += dS^T Q (32 keys x D/2 per warp)
        dv=[zeros(2*PP_KV) for _ in range(2)]; dk=[zeros(2*PP_KV) for _ in range(2)]
        for kk in range(BR//16):
            aoff=[[(kk*16+(l&7)+(l>>4)*8)*LDP+wk_kv*32+mt*16+((l>>3)&1)*8 for l in range(32)] for mt in range(2)]
            ap=[ldm(sP,aoff[mt],True) for mt in range(2)]; ad=[ldm(sdS,aoff[mt],True) for mt in range(2)]
            for j in range(PP_KV):
                boff=[(kk*16+(l&7)+((l>>3)&1)*8)*LD+(wd_kv*PP_KV+j)*16+(l>>4)*8 for l in range(32)]
                bo=ldm(sdO,boff,True); bq=ldm(sQ,boff,True)
                for mt in range(2):
                    mma([x[2*j] for x in dv[mt]],ap[mt],[r[0] for r in bo],[r[1] for r in bo])
                    mma([x[2*j+1] for x in dv[mt]],ap[mt],[r[2] for r in bo],[r[3] for r in bo])
                    mma([x[2*j] for x in dk[mt]],ad[mt],[r[0] for r in bq],[r[1] for r in bq])
                    mma([x[2*j+1] for x in dk[mt]],ad[mt],[r[2] for r in bq],[r[3] for r in bq])
        for mt in range(2):   # the epilogue's addressing
            for l in range(32):
                g4,tq=l>>2,l&3
                for hh in range(2):
                    kj=wk_kv*32+mt*16+g4+8*hh
                    for dn in range(2*PP_KV):
                        d=wd_kv*(D//WD_KV)+dn*8+2*tq
                        dK[kj,d:d+2]=dk[mt][l][dn][2*hh:2*hh+2]; dV[kj,d:d+2]=dv[mt][l][dn][2*hh:2*hh+2]
        # 4. dQ += dS K (16 MT_Q queries x 16 PP_Q d per warp), the atomics' addressing
        acc=[[zeros(2) for _ in range(PP_Q)] for _ in range(MT_Q)]
        for kk in range(BC//16):
            a=[ldm(sdS,[((wq_q*MT_Q+mt)*16+(l&15))*LDP+kk*16+(l>>4)*8 for l in range(32)]) for mt in range(MT_Q)]
            for j in range(PP_Q):
                bk=ldm(sK,[(kk*16+(l&7)+((l>>3)&1)*8)*LD+(wd_q*PP_Q+j)*16+(l>>4)*8 for l in range(32)],True)
                for mt in range(MT_Q):
                    mma([x[0] for x in acc[mt][j]],a[mt],[r[0] for r in bk],[r[1] for r in bk])
                    mma([x[1] for x in acc[mt][j]],a[mt],[r[2] for r in bk],[r[3] for r in bk])
        for mt in range(MT_Q):
            for hh in range(2):
                for l in range(32):
                    g4,tq=l>>2,l&3; qi=(wq_q*MT_Q+mt)*16+g4+8*hh
                    for j in range(PP_Q):
                        c=(wd_q*PP_Q+j)*16
                        dQ[qi,c+2*tq:c+2*tq+2]+=acc[mt][j][l][0][2*hh:2*hh+2]; dQ[qi,c+8+2*tq:c+8+2*tq+2]+=acc[mt][j][l][1][2*hh:2*hh+2]
    sSm=np.array([sS[r*LDP:r*LDP+BC] for r in range(BR)])
    print("tile D=%d BC=%d S ok"%(D,BC),np.allclose(S,Q@K.T),"dP ok",np.allclose(DP,dO@V.T),"sP stores ok",np.allclose(sSm,Q@K.T),
          "dV ok",np.allclose(dV,P.T@dO),"dK ok",np.allclose(dK,dS.T@Q),"dQ ok",np.allclose(dQ,dS@K))
if failed:
    builtins.print("FAILED:", len(failed), "checks"); sys.exit(1)
builtins.print("all fragment checks passed")
