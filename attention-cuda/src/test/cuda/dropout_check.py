# CPU check: the lane-shared Philox dropout bytes of fwd_tc_kernel (dropout_bytes_fwd) and bwd_dkdv_tc_kernel
# (dropout_bytes_bwd) give the keep/drop decisions of the direct definition (dropout_keep, docs/attention.md), and so
# do the wgmma forward's packed masks (fwd_dropout_packed: kept_bytes, then prmt's sign-replicate mode; or
# keep_mask_f16x2's byte permute and f16x2 compare).
# Emulates one warp's shuffles, byte permutes and xor_permute exactly as written. Run: python3 dropout_check.py
M=0xffffffff
def philox(c,k0,k1):
    c=list(c)
    for r in range(10):
        if r>0: k0=(k0+0x9E3779B9)&M; k1=(k1+0xBB67AE85)&M
        p0=c[0]*0xD2511F53; p1=c[2]*0xCD9E8D57
        c=[((p1>>32)^c[1]^k0)&M, p1&M, ((p0>>32)^c[3]^k1)&M, p0&M]
    return c
assert philox([0,0,0,0],0,0)==[0x6627e8d5,0xe169c58d,0xbc57ac4c,0x9b00dbd8]
def byte_perm(x,y,s):  # CUDA __byte_perm (selector nibbles 0..7, no sign mode)
    b=[(x>>(8*i))&0xff for i in range(4)]+[(y>>(8*i))&0xff for i in range(4)]
    return sum(b[(s>>(4*i))&7]<<(8*i) for i in range(4))
def xor_permute(v,x):   # as written: stages of conditional swaps
    v=list(v); n=len(v); bit=1
    while bit<n:
        sw=(x&bit)!=0
        for i in range(n):
            if not i&bit:
                a,b=v[i],v[i|bit]; v[i],v[i|bit]=(b,a) if sw else (a,b)
        bit<<=1
    return v
def kept(v,i,thr): return ((v>>(8*i))&0xff)>=thr
def kept_bytes(v,thr):  # FlashAttentionCommon.cuh, as written (SWAR compare; bit 7 of each byte says kept)
    if thr>255: return 0
    t=(thr*0x01010101)&M; m=((v|0x80808080)-(t&0x7f7f7f7f))&M
    return ((v&~t)|(~(v^t)&m))&M
def prmt_sign(x,s):  # PTX prmt.b32 default mode with y = 0: a selector nibble's bit 3 replicates the byte's bit 7
    b=[(x>>(8*i))&0xff for i in range(4)]+[0]*4; r=0
    for i in range(4):
        n=(s>>(4*i))&0xf; byte=b[n&7]
        r|=((0xff if byte&0x80 else 0) if n&8 else byte)<<(8*i)
    return r
def keep_mask_f16x2(v,lo,thr):  # FlashAttentionCommon.cuh: bytes below zero bytes, then set.ge.u32.f16x2 (no .ftz)
    h=byte_perm(v,0,0x4342 if lo else 0x4140); r=0
    for half in range(2):
        x=(h>>(16*half))&0xffff
        assert x<0x7c00 and thr<0x7c00   # finite non-negative f16 (subnormals too) order as their bit patterns
        r|=(0xffff if x>=thr else 0)<<(16*half)
    return r
seed=0x0123456789abcdef; k0=seed&M; k1=seed>>32; bh=5; off=9
def keep(row,col,thr):  # the direct definition
    c=philox([col>>4,row,bh,off],k0,k1); w=c[(col>>2)&3]
    return ((w>>(8*(col&3)))&0xff)>=thr
bad=0; n=0
for thr in (0,1,26,127,128,129,255,256):
  # forward: lane (g, tq), rows rowbase+g and +8, a 32-column group from col0
  for col0 in (0,32,96):
    for rowbase in (0,16,112):
      packed={}
      for lane in range(32):
        g,tq=lane>>2,lane&3; rg,rg8=rowbase+g,rowbase+g+8
        c=philox([(col0>>4)+(tq>>1), rg8 if tq&1 else rg, bh, off],k0,k1)
        for r in range(4):
          d=tq^r; wa=c[1] if d>>1 else c[0]; wb=c[3] if d>>1 else c[2]
          packed[(lane,r)]=byte_perm(wa,wb,0x7632 if d&1 else 0x5410)
      for lane in range(32):
        g,tq=lane>>2,lane&3; rows=[rowbase+g,rowbase+g+8]
        v=xor_permute([packed[(lane^r,r)] for r in range(4)],tq)   # shfl_xor(packed, r): lane^r's value for round r
        for u in range(2):
          for t in range(2):
            nt=2*u+t
            for e in range(4):
              col=col0+nt*8+2*tq+(e&1); row=rows[e>>1]
              bad+=kept(v[2*u+(e>>1)],2*t+(e&1),thr)!=keep(row,col,thr); n+=1
        # fwd_dropout_packed: the 16-bit mask of each packed element of A fragment a[kk][2t + hh]
        for u in range(2):
          for hh in range(2):
            kb=kept_bytes(v[2*u+hh],thr)
            for t in range(2):
              for mask in (prmt_sign(kb,0xbbaa if t else 0x9988), keep_mask_f16x2(v[2*u+hh],2*t,thr)):
                for half in range(2):
                  col=col0+(2*u+t)*8+2*tq+half; row=rows[hh]
                  bad+=(((mask>>(16*half))&0xffff)==0xffff)!=keep(row,col,thr); n+=1
                  bad+=((mask>>(16*half))&0xffff) not in (0,0xffff); n+=1
  # backward: warp keys kbase..kbase+15, 32 queries from qg0; lane (g4, tq)
  for kbase in (0,16,48):
    for qg0 in (0,32,64):
      packed={}
      for lane in range(32):
        g4,tq=lane>>2,lane&3
        c=philox([kbase>>4, qg0+8*(g4>>1)+2*tq+(g4&1), bh, off],k0,k1)
        for r in range(8):
          d=g4^r; wa=c[1] if d>>2 else c[0]; wb=c[3] if d>>2 else c[2]
          packed[(lane,r)]=byte_perm(wa,wb,(d&3)|((4+(d&3))<<4))
      for lane in range(32):
        g4,tq=lane>>2,lane&3
        v=xor_permute([packed[(lane^(4*r),r)] for r in range(8)],g4)
        for ntl in range(4):
          for e in range(4):
            q=qg0+ntl*8+2*tq+(e&1); key=kbase+g4+8*(e>>1)
            bad+=kept(v[2*ntl+(e&1)],e>>1,thr)!=keep(q,key,thr); n+=1
print("lane-shared dropout bytes: %d of %d decisions differ from the direct definition" % (bad,n))
raise SystemExit(1 if bad else 0)
