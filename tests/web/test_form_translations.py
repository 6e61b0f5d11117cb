"""WTForms' own messages follow the reader's language (from a catalogue cached per process)."""

from __future__ import annotations

ZH_REQUIRED = "该字段是必填字段。"
EN_REQUIRED = "This field is required."


def test_wtforms_messages_follow_the_language_of_each_request(client):
    chinese = client.post("/login", data={"email": "", "password": ""}).get_data(as_text=True)
    client.set_cookie("lang", "en")
    english = client.post("/login", data={"email": "", "password": ""}).get_data(as_text=True)
    client.delete_cookie("lang")
    chinese_again = client.post("/login", data={"email": "", "password": ""}).get_data(as_text=True)
    assert ZH_REQUIRED in chinese and EN_REQUIRED not in chinese
    assert EN_REQUIRED in english and ZH_REQUIRED not in english
    assert ZH_REQUIRED in chinese_again
