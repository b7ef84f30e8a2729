# Block-level numpy port of fwd_tc_kernel / bwd_dkdv_tc_kernel / bwd_dq_kernel control flow (loop bounds,
# need_mask, online softmax, fully-masked rows), compared with a direct fp64 softmax attention.
import numpy as np, math
rng=np.random.default_rng(1)
L2E=1.4426950408889634; LN2=0.6931471805599453
def ref(Q,K,V,dO,causal,scale):
    Sq,Sk=Q.shape[0],K.shape[0]; off=Sk-Sq if causal==2 else 0
    S=Q@K.T*scale
    mask=np.zeros((Sq,Sk),bool)
    if causal: mask=np.arange(Sk)[None,:]>np.arange(Sq)[:,None]+off
    S=np.where(mask,-np.inf,S)
    m=S.max(1,keepdims=True); full=np.isinf(m[:,0])
    m=np.where(np.isinf(m),0,m); P=np.exp(S-m); l=P.sum(1,keepdims=True)
    P=np.where(l>0,P/np.where(l>0,l,1),0); O=P@V
    lse=np.where(full,-np.inf,m[:,0]+np.log(np.where(l[:,0]>0,l[:,0],1)))
    dP=dO@V.T; delta=(P*dP).sum(1,keepdims=True); dS=P*(dP-delta)
    return O,lse,dS@K*scale,dS.T@Q*scale,P.T@dO
def fwd_port(Q,K,V,causal,scale,BM,BN,WR=16):
    # WR: query rows per warp (16 * m-tiles); need_mask is decided per warp, from the warp's first row
    Sq,Sk,D=Q.shape[0],K.shape[0],Q.shape[1]; off=Sk-Sq if causal==2 else 0; sl2=scale*L2E
    O=np.zeros((Sq,D)); lse=np.zeros(Sq)
    for m0 in range(0,Sq,BM):
        nb=(Sk+BN-1)//BN
        if causal:
            last_row=min(m0+BM,Sq)-1; last_key=last_row+off
            nb=0 if last_key<0 else min(nb,last_key//BN+1)
        Qb=np.zeros((BM,D)); r=min(BM,Sq-m0); Qb[:r]=Q[m0:m0+r]
        m=np.full(BM,-np.inf); l=np.zeros(BM); o=np.zeros((BM,D))
        for j in range(nb):
            n0=j*BN; Kb=np.zeros((BN,D)); Vb=np.zeros((BN,D)); c=min(BN,Sk-n0); Kb[:c]=K[n0:n0+c]; Vb[:c]=V[n0:n0+c]
            s=Qb@Kb.T
            for w0 in range(0,BM,WR):
                if (n0+BN>Sk) or (causal and n0+BN-1>m0+w0+off):
                    rows=np.arange(m0+w0,m0+w0+WR)[:,None]; cols=np.arange(n0,n0+BN)[None,:]
                    bad=(cols>=Sk)|((causal!=0)&(cols>rows+off))
                    s[w0:w0+WR]=np.where(bad,-np.inf,s[w0:w0+WR])
            mx=s.max(1); mn=np.maximum(m,mx*sl2); mu=np.where(np.isinf(mn),0,mn)
            corr=np.exp2(m-mu); m=mn; p=np.exp2(s*sl2-mu[:,None]); l=l*corr+p.sum(1); o=o*corr[:,None]+p@Vb
        inv=np.where(l>0,1/np.where(l>0,l,1),0)
        O[m0:m0+r]=(o*inv[:,None])[:r]
        lse[m0:m0+r]=np.where(l>0,m*LN2+np.log(np.where(l>0,l,1)),-np.inf)[:r]
    return O,lse
def bwd_port(Q,K,V,O,dO,lse,causal,scale,BC,BR):
    Sq,Sk,D=Q.shape[0],K.shape[0],Q.shape[1]; off=Sk-Sq if causal==2 else 0; sl2=scale*L2E
    delta=(dO*O).sum(1); dQ=np.zeros((Sq,D)); dK=np.zeros((Sk,D)); dV=np.zeros((Sk,D))
    for k0 in range(0,Sk,BC):
        Kb=np.zeros((BC,D)); Vb=np.zeros((BC,D)); c=min(BC,Sk-k0); Kb[:c]=K[k0:k0+c]; Vb[:c]=V[k0:k0+c]
        qstart=max(0,k0-off) if causal else 0
        dk=np.zeros((BC,D)); dv=np.zeros((BC,D))
        for qb in range(qstart//BR,(Sq+BR-1)//BR):
            q0=qb*BR; r=min(BR,Sq-q0)
            Qb=np.zeros((BR,D)); dOb=np.zeros((BR,D)); Qb[:r]=Q[q0:q0+r]; dOb[:r]=dO[q0:q0+r]
            L=np.zeros(BR); L[:r]=lse[q0:q0+r]*L2E; de=np.zeros(BR); de[:r]=delta[q0:q0+r]
            sT=Kb@Qb.T; dpT=Vb@dOb.T
            need=(q0+BR>Sq) or (k0+BC>Sk) or (causal and k0+BC-1>q0+off)
            kj=np.arange(k0,k0+BC)[:,None]; qi=np.arange(q0,q0+BR)[None,:]
            valid=np.ones((BC,BR),bool)
            if need: valid=(qi<Sq)&(kj<Sk)&~((causal!=0)&(kj>qi+off))
            with np.errstate(invalid='ignore',over='ignore'):
                P=np.where(valid,np.exp2(sT*sl2-L[None,:]),0)
            dS=P*(dpT-de[None,:])
            dv+=P@dOb; dk+=dS@Qb
            dQ[q0:q0+r]+=(dS.T@Kb*scale)[:r]
        dK[k0:k0+c]=(dk*scale)[:c]; dV[k0:k0+c]=dv[:c]
    # independent: deterministic dq kernel bounds (KB blocks)
    KB=BR; dQ2=np.zeros((Sq,D))
    for q0 in range(0,Sq,KB):
        kend=Sk
        if causal: kend=max(0,min(Sk,min(q0+KB,Sq)-1+off+1))
        for k0 in range(0,kend,KB):
            for i in range(q0,min(q0+KB,Sq)):
                for j in range(k0,min(k0+KB,Sk)):
                    if causal and j>i+off: continue
                    p=2**(Q[i]@K[j]*sl2-lse[i]*L2E); dQ2[i]+=p*(dO[i]@V[j]-delta[i])*K[j]*scale
    return dQ,dK,dV,dQ2
def rel(a,b):
    n=np.linalg.norm(a-b); d=np.linalg.norm(b); return n/d if d>0 else n
worst=0; bad=0
for (Sq,Sk) in [(1,1),(1,130),(130,1),(17,17),(77,257),(257,77),(130,130),(64,64),(65,63),(128,200),(200,128)]:
    for causal in (0,1,2):
        D=16; Q=rng.standard_normal((Sq,D));K=rng.standard_normal((Sk,D));V=rng.standard_normal((Sk,D));dO=rng.standard_normal((Sq,D))
        sc=0.3
        Or,lr,dQr,dKr,dVr=ref(Q,K,V,dO,causal,sc)
        for (BM,BN,WR) in [(128,64,16),(64,32,16),(128,64,32),(128,32,32),(128,128,32)]:
            O,l=fwd_port(Q,K,V,causal,sc,BM,BN,WR)
            e=[rel(O,Or)]; fin=np.isfinite(lr)
            ok=(np.array_equal(np.isinf(l),np.isinf(lr))) and (rel(l[fin],lr[fin]) if fin.any() else 0)<1e-12
            for (BC,BR) in [(64,32),(64,64),(32,32),(16,16)]:
                dQ,dK,dV,dQ2=bwd_port(Q,K,V,Or,dO,lr,causal,sc,BC,BR)
                e+= [rel(dQ,dQr),rel(dK,dKr),rel(dV,dVr),rel(dQ2,dQr)]
            w=max(e); worst=max(worst,w)
            if w>1e-10 or not ok: bad+=1; print("MISMATCH",Sq,Sk,causal,BM,BN,e,ok)
print("block-level port: %d mismatches, worst rel err %.1e"%(bad,worst))
