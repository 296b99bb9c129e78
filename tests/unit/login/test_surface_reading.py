"""Reading a recorded login request and a web app's scripts into a login surface."""

from __future__ import annotations

import base64
import json

import pytest

from probes._login.surface import control_login
from probes._login.surface_request import (
    FORM,
    JSON,
    SentLogin,
    carries,
    describe_answer,
    read_login,
)
from probes._login.surface_scripts import (
    base_href,
    find_script_login,
    full_path,
    module_imports,
    page_scripts,
)

USER, PW = "ctlabcdefgh", "Xy12Ab34Cd56Ef7Qz"
URL = "http://127.0.71.5:8080/api/login"


def _sent(body: bytes | str, ctype: str, method: str = "POST", url: str = URL, **headers: str):
    raw = body.encode() if isinstance(body, str) else body
    return SentLogin(method, url, {"content-type": ctype, **headers}, raw)


def test_json_login_nested_fields_are_dotted_paths_and_fixed_fields_kept():
    body = json.dumps({"auth": {"user": USER, "secret": PW}, "remember": True, "lang": "en"})
    shape = read_login(_sent(body, "application/json; charset=utf-8"), USER, PW)
    assert shape is not None
    assert (shape.content_type, shape.username_field, shape.password_field) == (
        JSON,
        "auth.user",
        "auth.secret",
    )
    assert shape.extra_fields == (("remember", "true"), ("lang", "en"))
    assert (shape.url, shape.method, shape.auth_header) == (URL, "POST", "")


def test_oauth2_password_grant_keeps_client_id_grant_type_and_empty_scope():
    body = f"client_id=node-red-editor&grant_type=password&scope=&username={USER}&password={PW}"
    shape = read_login(_sent(body, FORM), USER, PW)
    assert shape is not None
    assert (shape.username_field, shape.password_field) == ("username", "password")
    assert shape.extra_fields == (
        ("client_id", "node-red-editor"),
        ("grant_type", "password"),
        ("scope", ""),
    )


def test_multipart_login_fields_are_read():
    boundary = "b0undary"
    parts = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in (("login", USER), ("pass", PW), ("csrf", "t0k"))
    )
    body = parts + f"--{boundary}--\r\n"
    shape = read_login(_sent(body, f"multipart/form-data; boundary={boundary}"), USER, PW)
    assert shape is not None
    assert (shape.content_type, shape.username_field, shape.password_field) == (
        "multipart/form-data",
        "login",
        "pass",
    )
    assert shape.extra_fields == (("csrf", "t0k"),)


def test_basic_credentials_sent_by_script_give_auth_header_and_no_fields():
    token = base64.b64encode(f"{USER}:{PW}".encode()).decode()
    sent = SentLogin("GET", URL, {"authorization": f"Basic {token}", "x-superuser": "any"})
    assert carries(sent, PW)
    shape = read_login(sent, USER, PW)
    assert shape is not None
    assert (shape.auth_header, shape.content_type, shape.username_field) == ("Basic", "", "")
    assert shape.method == "GET"
    assert shape.headers == (("x-superuser", "any"),)


def test_basic_header_with_another_password_is_not_the_login():
    token = base64.b64encode(f"{USER}:other".encode()).decode()
    sent = SentLogin("GET", URL, {"authorization": f"Basic {token}"})
    assert not carries(sent, PW)
    assert read_login(sent, USER, PW) is None


def test_password_in_a_get_query_gives_form_encoding_and_the_url_without_query():
    sent = SentLogin("GET", f"{URL}?user={USER}&pwd={PW}&lang=en", {})
    shape = read_login(sent, USER, PW)
    assert shape is not None
    assert (shape.url, shape.method, shape.content_type) == (URL, "GET", FORM)
    assert (shape.username_field, shape.password_field) == ("user", "pwd")
    assert shape.extra_fields == (("lang", "en"),)


def test_a_request_without_the_password_is_no_login_and_a_hashed_one_is_not_replayable():
    assert read_login(_sent('{"q": "status"}', JSON), USER, PW) is None
    hashed = _sent(json.dumps({"user": USER, "hash": "5f4dcc3b5aa765d61d8327deb882cf99"}), JSON)
    assert not carries(hashed, PW)
    assert read_login(hashed, USER, PW) is None


def test_custom_headers_kept_browser_headers_and_secrets_dropped():
    sent = _sent(
        json.dumps({"u": USER, "p": PW}),
        JSON,
        **{
            "x-csrf-token": "abc",
            "x-requested-with": "XMLHttpRequest",
            "user-agent": "Chromium",
            "cookie": "sid=1",
            "sec-fetch-mode": "cors",
            "x-echo": f"user {USER}",
        },
    )
    shape = read_login(sent, USER, PW)
    assert shape is not None
    assert shape.headers == (("x-csrf-token", "abc"), ("x-requested-with", "XMLHttpRequest"))


def test_answer_description_is_bounded_and_masks_the_control_login():
    body = json.dumps({"error": f"user {USER} unknown", "code": 7}).encode()
    shape = describe_answer(401, "application/json", body, secrets=(USER, PW))
    assert shape.startswith("401 application/json, JSON object with code, error")
    assert USER not in shape
    html = b"<html><title>Login \x1b[31mfailed</title>" + b"x" * 100_000
    described = describe_answer(200, "text/html", html)
    assert described.startswith(f'200 text/html, {len(html)} bytes, title "Login')
    assert "\x1b" not in described
    assert len(describe_answer(200, "text/plain", b"y" * 5000)) <= 200
    assert "redirect to /login" in describe_answer(302, "", b"", location="/login?e=1")


def test_control_logins_are_random_letters_and_digits():
    logins = {control_login() for _ in range(20)}
    assert len(logins) == 20
    assert all(u.isalnum() and p.isalnum() and len(p) >= 16 for u, p in logins)


NODE_RED_MIN = (
    'i.prompts.length;o++){var n=i.prompts[o];}$.ajax({dataType:"json",url:"auth/login",'
    'success:function(i){for(var t={client_id:"node-red-editor",grant_type:"password",'
    'scope:""},o=0;o<i.prompts.length;o++){var n=i.prompts[o];t[n.id]=$("#x"+n.id).val()}'
    '$.ajax({url:"auth/token",type:"POST",data:t}).done(function(e){})}})'
)


def test_scripts_oauth2_password_grant_of_a_minified_editor():
    found = find_script_login(NODE_RED_MIN)
    assert found is not None
    assert (found.path, found.method, found.content_type) == ("auth/token", "POST", FORM)
    assert (found.username_field, found.password_field) == ("username", "password")
    assert dict(found.extra_fields) == {
        "client_id": "node-red-editor",
        "grant_type": "password",
        "scope": "",
    }


def test_scripts_json_fetch_login_with_its_field_names():
    js = (
        "async function go(){const r = await fetch('/api/v1/session', {method: 'POST', "
        "headers: {'Content-Type': 'application/json'}, body: JSON.stringify({account: u, "
        "pwd: p})}); if (!r.ok) fail();} fetch('/api/v1/status');"
    )
    found = find_script_login(js)
    assert found is not None
    assert (found.path, found.content_type) == ("/api/v1/session", JSON)
    assert (found.username_field, found.password_field) == ("account", "pwd")
    assert found.extra_fields == ()


@pytest.mark.parametrize(
    "js",
    [
        "fetch('/api/login')",  # no POST anywhere: never guessed
        "$.post('/logout', {}); var label = 'user.login';",  # logout, an i18n key
        "var x = 'login'; $.ajax({type: 'POST', url: '/api/data'})",  # bare word not a URL
        "load('/js/login.js'); $.ajax({type:'POST'})",  # a script file, not an endpoint
    ],
)
def test_scripts_without_a_login_endpoint_give_nothing(js: str):
    assert find_script_login(js) is None


def test_page_scripts_lists_sources_and_inline_code_but_not_data_blocks():
    html = (
        '<script src="vendor/vendor.js?v=1"></script><script type="module" src="/app.js">'
        '</script><script type="application/json">{"login": "/x"}</script>'
        "<script>var a = 1;</script>"
    )
    sources, inline = page_scripts(html)
    assert sources == ["vendor/vendor.js?v=1", "/app.js"]
    assert inline == ["var a = 1;"]


def test_an_api_client_posting_an_object_defaults_to_json_and_jquery_to_a_form():
    angular = 'login(e){return d(this.$api.post("/auth/login",e))}'
    found = find_script_login(angular)
    assert found is not None
    assert (found.path, found.content_type) == ("/auth/login", JSON)
    jquery = '$.ajax({url: "/cgi-bin/login.cgi", type: "POST", data: {user: u, pwd: p}})'
    found = find_script_login(jquery)
    assert found is not None
    assert (found.path, found.content_type) == ("/cgi-bin/login.cgi", FORM)
    assert (found.username_field, found.password_field) == ("user", "pwd")


def test_octoprint_style_post_json_to_a_url_held_in_a_variable():
    js = (
        'var loginUrl = "api/login"; var logoutUrl = "api/logout";\n'
        + " " * 300
        + "Client.prototype.login = function (username, password, remember) {\n"
        "  var data = {user: username, pass: password, remember: !!remember};\n"
        "  return this.base.postJson(loginUrl, data, opts); };"
    )
    found = find_script_login(js)
    assert found is not None
    assert (found.path, found.content_type) == ("api/login", JSON)
    assert (found.username_field, found.password_field) == ("user", "pass")


def test_module_imports_and_the_prefix_another_file_writes():
    main = 'import{a as b}from"./chunk-AB12.js";const l=()=>import("./chunk-CD34.js");'
    assert module_imports(main) == ["./chunk-AB12.js", "./chunk-CD34.js"]
    config = "routes:[`${location.protocol}//${location.host}/api/auth/login`]"
    assert full_path("/auth/login", [main, config]) == "/api/auth/login"
    assert full_path("auth/login", [config]) == "auth/login"  # relative: left to the base
    two = ['"/api/auth/login"', '"/v2/auth/login"']
    assert full_path("/auth/login", two) == "/auth/login"  # ambiguous: not chosen


def test_base_href_is_read_from_the_page():
    assert base_href('<head><base href="/ui/"><script src="app.js"></script>') == "/ui/"
    assert base_href("<head><title>x</title>") == ""
