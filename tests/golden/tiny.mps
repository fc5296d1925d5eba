* robustdsl group LP (P), penalised form: 5 samples, 6 groups (by size 2: 5, 3: 1)
* max sum_S g_S w_S  s.t.  sum_(S contains v) w_S <= p_v (row s_v), w >= 0
NAME robustdsl_group_lp
OBJSENSE
    MAX
ROWS
 N  obj
 L  s_0
 L  s_1
 L  s_2
 L  s_3
 L  s_4
COLUMNS
    w_0_1 obj 1
    w_0_1 s_0 1
    w_0_1 s_1 1
    w_1_2 obj 0.75
    w_1_2 s_1 1
    w_1_2 s_2 1
    w_2_3 obj 1
    w_2_3 s_2 1
    w_2_3 s_3 1
    w_0_1__2 obj 1
    w_0_1__2 s_0 1
    w_0_1__2 s_1 1
    w_3_4 obj -0.5
    w_3_4 s_3 1
    w_3_4 s_4 1
    w_0_1_2 obj 0.5
    w_0_1_2 s_0 1
    w_0_1_2 s_1 1
    w_0_1_2 s_2 1
RHS
    RHS s_0 0.25
    RHS s_1 0.25
    RHS s_2 0.25
    RHS s_3 0.125
    RHS s_4 0.125
ENDATA
