"""The `/ask` API an integrator calls, through `gradio_client` and plain HTTP, on a page
started with Gradio's own GRADIO_SERVER_PORT (no --port) and another emergency number."""
import json
import re
import urllib.request

import pytest

from conftest import ROOT, running_app

DURATION = re.compile(r"\b(\d+|ten|fifteen|twenty|thirty|seconds?|minutes?|breaths?|counts?)\b", re.I)


@pytest.fixture(scope="module")
def api(built_index):
    from gradio_client import Client

    settings, _ = built_index
    with running_app(settings.index_dir, port_by="gradio", BACKBOT_EMERGENCY_NUMBER="999") as url:
        yield Client(url, verbose=False), url


def ask(client, message, history=None):
    return client.predict(message, history or [], api_name="/ask")


def test_an_answer_is_data_with_its_citations(api):
    client, _ = api
    r = ask(client, "How do I stretch my upper back? It gets so tight after a day at the laptop")
    assert r["answered"] and r["escalation"] is None and r["disclaimer"] and r["disclaimer"] in r["text"]
    assert r["citations"] and r["sentences"]
    numbers = {c["number"] for c in r["citations"]}
    for c in r["citations"]:
        assert c["title"] and isinstance(c["url"], str) and c["source"] and f"[{c['number']}]" in r["text"]
        for quoted in c["quoted"]:  # every quoted sentence is word for word in one of its passages
            assert any(quoted in passage for passage in c["passages"]), quoted
    for s in r["sentences"]:
        assert s["citation"] in numbers and s["text"] in r["text"]
    user, assistant = r["history"]
    assert user == {"role": "user", "content": "How do I stretch my upper back? It gets so tight after a day at the laptop"}
    assert assistant["role"] == "assistant" and assistant["content"] == r["text"]
    assert json.loads(json.dumps(r)) == r  # plain JSON all the way down


def test_an_emergency_has_the_level_the_number_and_no_exercises(api):
    client, _ = api
    r = ask(client, "my lower back has been bad all week and today i cant feel anything when i wipe, "
                    "and i couldnt pee this morning even though i needed to")
    assert r["escalation"]["level"] == "emergency" and r["escalation"]["call"] == "999"
    assert r["escalation"]["reasons"] and "999" in r["text"] and r["disclaimer"] in r["text"]
    assert r["citations"] == [] and not r["answered"]
    assert r["someone_else"] is None
    other = ask(client, "my mum says she can't feel her legs and she has wet herself, what do I do?")
    assert other["escalation"] is None and other["someone_else"]["level"] == "emergency"
    assert other["someone_else"]["call"] == "999" and "999" in other["text"]


def test_a_follow_up_reads_the_history_the_api_returned(api):
    client, _ = api
    first = ask(client, "How do I stretch my upper back?")
    second = ask(client, "How long should I hold it?", first["history"])
    assert second["answered"] and second["citations"]
    assert any(DURATION.search(s["text"]) for s in second["sentences"]), second["text"]
    before = {s["text"] for s in first["sentences"]}
    assert not before & {s["text"] for s in second["sentences"]}  # nothing quoted twice
    assert len(second["history"]) == 4 and second["history"][:2] == first["history"]


def test_plain_http_and_a_history_it_cannot_use(api):
    _, url = api
    body = json.dumps({"data": ["what is sciatica?", [{"role": "system", "content": 5}, "junk"]]}).encode()
    post = urllib.request.Request(url + "gradio_api/call/ask", data=body, headers={"Content-Type": "application/json"})
    event = json.load(urllib.request.urlopen(post, timeout=60))["event_id"]
    stream = urllib.request.urlopen(url + f"gradio_api/call/ask/{event}", timeout=60).read().decode()
    data = next(line[len("data: "):] for line in stream.splitlines() if line.startswith("data: "))
    (r,) = json.loads(data)
    assert r["disclaimer"] in r["text"] and [m["role"] for m in r["history"]] == ["user", "assistant"]


def test_only_ask_is_documented(api):
    client, _ = api
    assert list(client.view_api(return_format="dict", print_info=False)["named_endpoints"]) == ["/ask"]


def test_the_readme_example_runs_as_written(api):
    _, url = api

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Calling BackBot"):]
    code = section[section.index("```python") + len("```python"):section.index("```", section.index("```python") + 9)]
    assert len(code.strip().splitlines()) <= 5
    scope: dict = {}
    exec(code.replace("http://127.0.0.1:7860/", url), scope)  # noqa: S102 (our own README)
    assert scope["r"]["answered"] and scope["r"]["query"].lower().startswith("how long")
