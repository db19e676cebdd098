"""AMI framing: what goes on the wire and how replies are read back."""
from __future__ import annotations

import pytest

from ami.protocol import decode, encode
from core.errors import AmiBadValue


def test_encode_frames_an_action():
    data = encode("Originate", {"Channel": "Local/s@hl-sim-caller", "Priority": 1}, "ami-7")
    assert data == (b"Action: Originate\r\nActionID: ami-7\r\n"
                    b"Channel: Local/s@hl-sim-caller\r\nPriority: 1\r\n\r\n")


def test_encode_ends_with_exactly_one_blank_line():
    data = encode("Ping", {}, "1")
    assert data == b"Action: Ping\r\nActionID: 1\r\n\r\n"
    assert data.count(b"\r\n\r\n") == 1


def test_list_values_become_repeated_headers():
    data = encode("Originate", {"Variable": ["A=1", "B=2", "C=x y"]}, "9")
    lines = data.decode().split("\r\n")
    assert [ln for ln in lines if ln.startswith("Variable:")] == ["Variable: A=1", "Variable: B=2",
                                                                   "Variable: C=x y"]


def test_tuple_values_become_repeated_headers():
    data = encode("X", {"V": ("a", "b")}, "1")
    assert b"V: a\r\nV: b\r\n" in data


def test_utf8_values_are_encoded():
    data = encode("UserEvent", {"Name": "张三"}, "1")
    assert "Name: 张三\r\n".encode() in data


@pytest.mark.parametrize("value", [
    "1\r\nAction: Hangup",
    "1\nAction: Hangup",
    "1\rAction: Hangup",
    "\r\n\r\nAction: Logoff",
    "\n",
])
def test_encode_refuses_line_breaks_in_values(value):
    with pytest.raises(AmiBadValue) as ei:
        encode("Originate", {"CallerID": value}, "1")
    assert ei.value.details.get("field") == "CallerID"
    assert "CallerID" in str(ei.value)


def test_encode_refuses_line_breaks_in_one_list_item():
    with pytest.raises(AmiBadValue):
        encode("Originate", {"Variable": ["A=1", "B=2\r\nAction: Hangup"]}, "1")


@pytest.mark.parametrize("key", ["Bad\r\nKey", "Bad\nKey", "Bad\rKey", "Action: Hangup\r\nX", "Has:Colon"])
def test_encode_refuses_bad_keys(key):
    with pytest.raises(AmiBadValue):
        encode("Originate", {key: "v"}, "1")


def test_non_string_values_with_line_breaks_are_refused_too():
    class Sneaky:
        def __str__(self):
            return "x\r\nAction: Hangup"

    with pytest.raises(AmiBadValue):
        encode("Originate", {"Data": Sneaky()}, "1")


def test_refused_value_is_the_error_users_see():
    assert AmiBadValue.id == "ami-bad-value" and AmiBadValue.status == 400


# -- decode ------------------------------------------------------------------------------
def test_decode_simple_reply():
    msg = decode(b"Response: Success\r\nActionID: ami-3\r\nMessage: Originate successfully queued\r\n\r\n")
    assert msg == {"Response": "Success", "ActionID": "ami-3", "Message": "Originate successfully queued"}


def test_decode_repeated_keys_are_all_kept():
    msg = decode(b"Event: Newchannel\r\nChanVariable: A=1\r\nChanVariable: B=2\r\nChanVariable: C=\r\n\r\n")
    assert msg["ChanVariable"].split("\n") == ["A=1", "B=2", "C="]
    assert msg["Event"] == "Newchannel"


def test_decode_value_containing_colon_space():
    msg = decode(b"Message: a: b: c\r\n\r\n")
    assert msg == {"Message": "a: b: c"}


def test_decode_lines_without_separator_become_output():
    block = b"Response: Follows\r\nPrivilege: Command\r\nline one\r\nline two\r\n--END COMMAND--\r\n\r\n"
    msg = decode(block)
    assert msg["Response"] == "Follows"
    assert msg["Output"] == "line one\nline two\n--END COMMAND--"


def test_decode_key_with_empty_value():
    msg = decode(b"Event: Hangup\r\nConnectedLineName:\r\nCause: 16\r\n\r\n")
    assert msg == {"Event": "Hangup", "ConnectedLineName": "", "Cause": "16"}


def test_decode_invalid_utf8_does_not_raise():
    msg = decode(b"CallerIDName: \xff\xfe\r\n\r\n")
    assert msg["CallerIDName"] == "\ufffd\ufffd"


def test_decode_empty_block():
    assert decode(b"") == {}
    assert decode(b"\r\n\r\n") == {}


def test_encode_decode_round_trip():
    fields = {"Channel": "PJSIP/agent1002", "Exten": "12345", "Context": "from-pstn"}
    msg = decode(encode("Originate", fields, "rt-1"))
    assert msg == {"Action": "Originate", "ActionID": "rt-1", **fields}
