# CPU check (numpy) of the mma.sync m16n8k16 / ldmatrix(.trans) fragment index formulas used in
# FlashAttentionFwd.cuh (fwd_tc_kernel) and FlashAttentionBwd.cuh (bwd_dkdv_tc_kernel): emulates one warp
# per the PTX ISA fragment layouts and compares each product with numpy. Run: python3 fragment_layout_check.py
import numpy as np
rng=np.random.default_rng(0)
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
# dq_add_slab_row with FLARE_BWD_DQ_RED_V4: lanes tq, tq^1 trade one pair and each adds 4 contiguous columns
slab=rng.standard_normal((16,16)); acc=[[[0.0]*4 for _ in range(2)] for _ in range(32)]
for l in range(32):
    g,t=l>>2,l&3
    for nt in range(2):
        for e in range(4): acc[l][nt][e]=slab[g+8*(e>>1)][nt*8+2*t+(e&1)]
for hh in range(2):
    out=np.zeros((8,16))
    for l in range(32):
        g,t=l>>2,l&3; odd=t&1; p=l^1
        a0,a1,b0,b1=acc[l][0][2*hh],acc[l][0][2*hh+1],acc[l][1][2*hh],acc[l][1][2*hh+1]
        r0=acc[p][0][2*hh] if not odd else acc[p][1][2*hh]      # the partner sends a if it is odd, b if even
        r1=acc[p][0][2*hh+1] if not odd else acc[p][1][2*hh+1]
        col,v=(8+2*(t-1),(r0,r1,b0,b1)) if odd else (2*t,(a0,a1,r0,r1))
        assert col%4==0
        out[g][col:col+4]+=v
    print("dQ float4 rows ok",hh,np.allclose(out,slab[8*hh:8*hh+8]))
