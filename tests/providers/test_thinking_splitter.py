from workbench.models.chunks import Phase
from workbench.models.thinking import ThinkSplitter, split_thinking


def run(deltas, **kwargs):
    splitter = ThinkSplitter(**kwargs)
    chunks = []
    for delta in deltas:
        chunks += splitter.feed(delta)
    chunks += splitter.flush()
    thinking = "".join(c.content for c in chunks if c.phase is Phase.THINKING)
    text = "".join(c.content for c in chunks if c.phase is Phase.TEXT)
    return thinking, text, chunks


def test_whole_tags_split_and_layout_whitespace_dropped():
    thinking, text, _ = run(["<think>\nLet me add.\n</think>\n\nIt is 4."])
    assert (thinking, text) == ("Let me add.", "It is 4.")


def test_tags_cut_across_deltas():
    thinking, text, _ = run(["<thi", "nk>\nLet me", " add.\n</th", "ink>", "\n\nIt is 4."])
    assert (thinking, text) == ("Let me add.", "It is 4.")


def test_every_cut_point_gives_the_same_split():
    source = "<think>\nstep one, step two\n</think>\n\nAnswer: `x < y` holds."
    for cut in range(1, len(source)):
        thinking, text, _ = run([source[:cut], source[cut:]])
        assert (thinking, text) == ("step one, step two", "Answer: `x < y` holds."), cut
    thinking, text, _ = run(list(source))
    assert (thinking, text) == ("step one, step two", "Answer: `x < y` holds.")


def test_tags_inside_code_fences_are_text():
    source = "Use it like this:\n```xml\n<think>not thinking</think>\n```\nDone."
    for deltas in ([source], list(source)):
        thinking, text, _ = run(deltas)
        assert thinking == ""
        assert text == source


def test_tag_in_inline_code_is_text():
    thinking, text, _ = run(["The `<think>` tag opens reasoning."])
    assert thinking == "" and text == "The `<think>` tag opens reasoning."


def test_thinking_after_a_fence_closes_is_split():
    thinking, text, _ = run(["```\ncode\n```\n", "<think>hm</think>after"])
    assert thinking == "hm" and text == "```\ncode\n```\nafter"


def test_stream_that_starts_inside_thinking():
    thinking, text, _ = run(["I reason", " here.</think>\n\nAnswer."], start_in_thinking=True)
    assert (thinking, text) == ("I reason here.", "Answer.")


def test_unfinished_tag_at_the_end_is_text_and_unclosed_thinking_is_thinking():
    assert run(["a < b and <thin"])[:2] == ("", "a < b and <thin")
    assert run(["<think>still going"])[:2] == ("still going", "")


def test_no_tags_streams_through_without_delay():
    splitter = ThinkSplitter()
    first = splitter.feed("Hello ")
    assert [c.content for c in first] == ["Hello "]
    assert all(c.phase is Phase.TEXT for c in first)


def test_split_thinking_whole_response():
    assert split_thinking("<think>a</think>b") == ("a", "b")
    assert split_thinking("plain") == ("", "plain")
