"""Mainland China's SMS platforms, which send only registered templates under a registered signature:
Alibaba Cloud SMS (`aliyun-sms://`, aliyun.py) and Tencent Cloud SMS (`tencent-sms://`, tencent.py), and
what they share (shared.py: the 【签名】, the callback token, Beijing time). Each module sends, classifies
the platform's codes, and parses its delivery receipts and replies.
"""

from channels.china import aliyun, tencent
from channels.china.aliyun import parse_aliyun_inbound, parse_aliyun_report
from channels.china.tencent import parse_tencent_inbound, parse_tencent_report

__all__ = ["aliyun", "parse_aliyun_inbound", "parse_aliyun_report", "parse_tencent_inbound", "parse_tencent_report",
           "tencent"]
