"""A Chinese SMB's CRM export as Chinese Excel saves it: GBK, Chinese headers, mobiles written without +86.

31 rows, as in issue 15's first import (22 of them were lost when bare mobiles were read as US
numbers and a bad phone rejected the whole row): 26 rows are good, 3 have one bad address (the row
lands without it, with a warning), 2 have no usable address at all and are rejected.
"""

from __future__ import annotations

HEADER = "客户编号,姓名,手机,邮箱,公司,省份,生日,等级,备注"
ROWS = [
    "C001,王芳,13812345601,wang.fang@example.cn,星辰科技,上海,1988/3/8,A,老客户",
    "C002,李雷,138-1234-5602,,星辰科技,上海市,1990-05-04,B,",
    "C003,韩梅梅,138 1234 5603,han.mm@example.cn,,北京,,A,展会",
    "C004,张伟,+86 138 1234 5604,,伟业贸易,北京市,1979/12/1,C,",
    "C005,刘洋,86-13812345605,liu.yang@example.cn,,广东,,,",
    "C006,陈静,0086 138 1234 5606,,,广东省,1992/7/7,B,",
    "C007,杨帆,+86-138-1234-5607,yang.fan@example.cn,,浙江,,,",
    "C008,赵敏,13812345608,,,浙江省,,D,会员日",
    "C009,黄磊,021-6888 8888,huang.lei@example.cn,黄记餐饮,上海,,B,座机",
    "C010,周杰,13812345610,zhou.jie@example.cn,,江苏,1985/10/10,A,",
    "C011,吴昊,13812345611,,,江苏,,,",
    "C012,郑爽,13812345612,zheng.s@example.cn,,四川,,C,",
    "C013,孙丽,13812345613,,,四川省,1995/2/14,,",
    "C014,马云飞,13812345614,ma.yf@example.cn,,湖北,,B,",
    "C015,朱琳,13812345615,,,湖北,,,",
    "C016,胡斌,13812345616,hu.bin@example.cn,,上海,,A,",
    "C017,郭晶,13812345617,,,上海,1991/1/1,,",
    "C018,何平,13812345618,he.ping@example.cn,,北京,,,",
    "C019,高峰,13812345619,,,北京,,B,",
    "C020,林涛,13812345620,lin.tao@example.cn,,福建,,,",
    "C021,Mary Smith,+1 415 555 0100,mary@example.com,Acme,,,B,海外",
    "C022,罗琪,,luo.qi@example.cn,,重庆,,,只有邮箱",
    "C023,梁爽,13812345623,liang.s@example.cn,,天津,,,",
    "C024,宋佳,13812345624,,,天津市,,,",
    "C025,谢娜,13812345625,xie.na@example.cn,,山东,,,",
    "C026,唐嫣,13812345626,,,山东,,A,",
    # one bad address each: the row lands without it
    "C027,韩寒,1381234560,han.han@example.cn,,上海,,,手机少一位",
    "C028,许晴,13812345628,xu.qing@,,北京,,,邮箱不全",
    "C029,邓超,1.38123E+10,deng.chao@example.cn,,广东,,,Excel 科学计数法",
    # nothing to message them at
    "C030,冯巩,12345,feng@,,,,,",
    "C031,曹操,,,,,,,没有联系方式",
]
TEXT = "\r\n".join([HEADER, *ROWS]) + "\r\n"  # Excel writes CRLF
GBK = TEXT.encode("gbk")

GOOD, WARNED, REJECTED = 26, 3, 2
WARNED_LINES = {28: "phone", 29: "email", 30: "phone"}  # line numbers: the header is line 1
REJECTED_LINES = (31, 32)
