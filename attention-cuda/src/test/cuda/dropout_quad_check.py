# CPU check: the quad-shared Philox dropout in fwd_tc_kernel (lanes tq, tq^1 swap words) gives the same
# keep/drop decisions as the direct definition. Run: python3 dropout_quad_check.py
# simulate the quad-shared dropout of fwd_tc_kernel against the direct definition
M=0xffffffff
def philox(c,k0,k1):
    c=list(c)
    for r in range(10):
        if r>0: k0=(k0+0x9E3779B9)&M; k1=(k1+0xBB67AE85)&M
        p0=c[0]*0xD2511F53; p1=c[2]*0xCD9E8D57
        c=[((p1>>32)^c[1]^k0)&M, p1&M, ((p0>>32)^c[3]^k1)&M, p0&M]
    return c
assert philox([0,0,0,0],0,0)==[0x6627e8d5,0xe169c58d,0xbc57ac4c,0x9b00dbd8]
seed=0x0123456789abcdef; k0=seed&M; k1=seed>>32; thr=int(0.3*2**24); bh=5; off=9
def keep(row,col): return (philox([col>>2,row,bh,off],k0,k1)[col&3]>>8)>=thr
bad=0
for n0 in (0,64):
  for rowbase in (0,16,112):
    for nt in range(8):
      comp={}
      for lane in range(32):
        g=lane>>2; tq=lane&3; odd=tq&1; rows=[rowbase+g,rowbase+g+8]
        col=n0+nt*8+2*tq
        c=philox([col>>2, rows[odd], bh, off],k0,k1)
        own=(c[2],c[3]) if odd else (c[0],c[1]); snd=(c[0],c[1]) if odd else (c[2],c[3])
        comp[lane]=(own,snd,rows,col,odd)
      for lane in range(32):
        own,snd,rows,col,odd=comp[lane]; rcv=comp[lane^1][1]
        wg=rcv if odd else own; wh=own if odd else rcv
        got=[(wg[0]>>8)>=thr,(wg[1]>>8)>=thr,(wh[0]>>8)>=thr,(wh[1]>>8)>=thr]
        want=[keep(rows[0],col),keep(rows[0],col+1),keep(rows[1],col),keep(rows[1],col+1)]
        bad+= got!=want
print("quad-shared dropout mismatches:",bad)
