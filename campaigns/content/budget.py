"""The template sandbox with a work budget: how big a value may grow and how long a render may run.

Jinja's SandboxedEnvironment keeps a template away from Python internals, but not away from the CPU or
the memory: `{{ 7 ** 4000000 }}` costs seconds of CPU, `'x' * 100000000` allocates 100 MB, and nested
`range` loops never end. Templates are written by marketers (and previewed by the read-only analyst
role), and a saved one runs in the sender for every message and in every estimate, so each of those
is refused before the work is done:

- numbers: `*` and `**` may not make an integer longer than MAX_INT_BITS;
- text and lists: `*`, `+`, `%`, `~`, string methods and filters that pad, repeat, join or replace
  may not make one longer than MAX_TEXT, and no value is turned into text if its text would be;
- `range` yields at most MAX_RANGE numbers;
- a render stops after MAX_RENDER_SECONDS, checked on every line the template runs (a tracer on the
  template's own frames: it works in any thread, unlike an alarm signal) and after MAX_OUTPUT chars.

Going over any of these raises OverBudget, whose message names the limit; content.py turns it into
a per-message failure when sending and into a TemplateInvalid (a 400) when previewing or saving.
"""

from __future__ import annotations

import math
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import wraps
from string import Formatter
from types import FrameType
from typing import Any

from jinja2.compiler import CodeGenerator, Frame
from jinja2.nodes import Concat
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

MAX_INT_BITS = 4096  # about 1,230 digits: far beyond any price, count or date arithmetic
MAX_TEXT = 1_000_000  # characters (or items) in any one value: a large email is ~100 KB
MAX_OUTPUT = 1_000_000  # characters a rendered part may have
MAX_RANGE = 10_000  # numbers one range() may yield
MAX_WIDTH = 10_000  # padding width in format specs, center(), ljust() …
MAX_RENDER_SECONDS = 1.0  # a marketing template renders in milliseconds; a whole second is a loop gone wrong

# Globals Jinja offers by default that a template may keep. `lipsum` is dropped: `{{ lipsum }}` prints a
# function's repr, with a process memory address, and lorem ipsum has no place in a sent message.
KEPT_GLOBALS = ("dict", "cycler", "joiner", "namespace")

# "%5s", "%-10.3f", "%(name)20s": the width and precision of a printf-style conversion.
_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")
_TEMPLATE_FILE_PREFIX = "<template "


class OverBudget(SecurityError):
    """A template asked for more work than a message may cost; the message says which limit and the fix."""


# ------------------------------------------------------------------ sizes
def text_size(value: Any, limit: int = MAX_TEXT) -> int:
    """A lower bound on len(str(value)), stopping early once it passes `limit`.

    Containers are walked rather than turned into text, so `[s] * 1000000` is refused before its
    repr is built; every element counts at least one character, so the walk is bounded too.
    """
    total = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + len(item)
            stack.extend(item)
        elif isinstance(item, Mapping):
            total += 2 + 2 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, int) and not isinstance(item, bool):
            total += max(1, item.bit_length() * 3 // 10)
        else:
            total += 1
    return total


def _refuse_text(size: int, what: str) -> None:
    if size > MAX_TEXT:
        raise OverBudget(f"{what} would make a text or list of more than {MAX_TEXT:,} characters or items; "
                         "templates are limited to that — shorten it")


def _check_text(value: Any, what: str) -> None:
    _refuse_text(text_size(value), what)


def _check_width(width: Any, what: str) -> None:
    if isinstance(width, int) and abs(width) > MAX_WIDTH:
        raise OverBudget(f"{what} asks for a width of {width:,}; templates may pad to at most {MAX_WIDTH:,}")


def _check_format_spec(spec: str, what: str) -> None:
    if "{" in spec:
        raise OverBudget(f"{what}: a width or precision taken from an argument is not allowed in templates; "
                         "write the number into the format")
    for digits in _DIGITS.findall(spec):
        _check_width(int(digits), what)


def _check_printf(fmt: str, what: str) -> None:
    for width, precision in _PRINTF_SPEC.findall(fmt):
        for number in (width, precision):
            if number == "*":
                raise OverBudget(f"{what}: a * width or precision is not allowed in templates; write the number")
            if number:
                _check_width(int(number), what)


def _check_int_bits(bits: float, operator: str) -> None:
    if bits > MAX_INT_BITS:
        raise OverBudget(f"{operator} would make a number of about {int(bits * 0.30103):,} digits; templates may "
                         f"compute numbers of up to {MAX_INT_BITS * 3 // 10:,} digits")


def _length(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | tuple) else None


# ------------------------------------------------------------------ operators
def _check_binop(operator: str, left: Any, right: Any) -> None:
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (left, right))
    if operator == "**" and ints and right > 0 and abs(left) > 1:
        _check_int_bits(right * math.log2(abs(left)), "**")
    elif operator == "*" and ints:
        _check_int_bits(left.bit_length() + right.bit_length(), "*")
    elif operator == "*":
        for seq, count in ((left, right), (right, left)):
            if _length(seq) is not None and isinstance(count, int):
                _refuse_text(len(seq) * count, "*")
    elif operator == "+" and _length(left) is not None and _length(right) is not None:
        _refuse_text(len(left) + len(right), "+")
    elif operator == "%" and isinstance(left, str):
        _check_printf(left, "%")
        _check_text(right, "%")


# ------------------------------------------------------------------ calls: str methods and filters
def _padding(value: str, width: Any = 0, *_: Any, **__: Any) -> None:
    _check_width(width, "padding")


def _str_join(separator: str, items: Iterable[Any] = (), *_: Any, **__: Any) -> None:
    items = list(items) if not isinstance(items, list | tuple) else items
    _refuse_text(text_size(items) + len(separator) * len(items), "join")


def _str_replace(value: str, old: Any = "", new: Any = "", *_: Any, **__: Any) -> None:
    if isinstance(old, str) and isinstance(new, str):
        _refuse_text(len(value) + value.count(old) * max(0, len(new) - len(old)), "replace")


def _expandtabs(value: str, tabsize: Any = 8, *_: Any, **__: Any) -> None:
    if isinstance(tabsize, int):
        _refuse_text(len(value) + value.count("\t") * tabsize, "expandtabs")


# str methods that can return far more than they were given, with the check to run before calling them.
_STR_METHOD_CHECKS: dict[str, Callable[..., None]] = {
    "center": _padding, "ljust": _padding, "rjust": _padding, "zfill": _padding,
    "join": _str_join, "replace": _str_replace, "expandtabs": _expandtabs,
}


def _filter_join(value: Any, d: Any = "", *_: Any, **__: Any) -> None:
    items = list(value) if not isinstance(value, list | tuple | str) else value
    _refuse_text(text_size(items) + text_size(d) * len(items), "join")


def _filter_indent(value: Any, width: Any = 4, *_: Any, **__: Any) -> None:
    lines = str(value).count("\n") + 1
    _refuse_text(text_size(value) + lines * (width if isinstance(width, int) else text_size(width)), "indent")


def _filter_wordwrap(value: Any, width: Any = 79, break_long_words: Any = True, wrapstring: Any = None,
                     *_: Any, **__: Any) -> None:
    _check_width(width, "wordwrap")
    if isinstance(wrapstring, str):
        _refuse_text(text_size(value) * (1 + len(wrapstring)), "wordwrap")


def _filter_count(value: Any, count: Any = 0, *_: Any, **__: Any) -> None:
    if isinstance(count, int) and abs(count) > MAX_RANGE:
        raise OverBudget(f"batch and slice make at most {MAX_RANGE:,} groups; this asks for {count:,}")


def _filter_format(value: Any, *args: Any, **kwargs: Any) -> None:
    if isinstance(value, str):
        _check_printf(value, "format")


# Filters that can return far more than they were given (or loop on a number they were given).
_FILTER_CHECKS: dict[str, Callable[..., None]] = {
    "center": _padding, "indent": _filter_indent, "wordwrap": _filter_wordwrap, "batch": _filter_count,
    "slice": _filter_count, "replace": lambda value, old="", new="", *a, **k: _str_replace(str(value), old, new),
    "join": _filter_join, "format": _filter_format,
}


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` with its input and arguments measured first and its result measured after."""
    check = _FILTER_CHECKS.get(name)
    pass_arg = getattr(function, "jinja_pass_arg", None)

    @wraps(function)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        values = args[1:] if pass_arg is not None else args  # context / environment first
        _check_text(values, f"the {name} filter")
        _check_text(kwargs, f"the {name} filter")
        if check is not None:
            check(*values, **kwargs)
        result = function(*args, **kwargs)
        if _length(result) is not None:
            _refuse_text(len(result), f"the {name} filter")
        return result

    return bounded


def bounded_range(*args: Any) -> range:
    """range(), refusing more than MAX_RANGE numbers."""
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise OverBudget(f"range() of {len(numbers):,} numbers; templates may loop over at most {MAX_RANGE:,}")
    return numbers


# ------------------------------------------------------------------ the environment
class _BoundedCodeGenerator(CodeGenerator):
    """Compiles `a ~ b` to a measured join: `~` is not an operator Jinja lets an environment intercept."""

    def visit_Concat(self, node: Concat, frame: Frame) -> None:
        # As CodeGenerator.visit_Concat, but the join function goes to the environment with the parts.
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write(f"environment.measured_concat({join}, (")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        self.write("))")


class BudgetedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox every template part is compiled and rendered with (see the module doc).

    Immutable: `list.append` / `extend` would let a loop double a list in place without any operator.
    """

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _BoundedCodeGenerator

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=_finalize, **options)
        self.globals = {name: self.globals[name] for name in KEPT_GLOBALS}
        self.globals["range"] = bounded_range
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, str):
            check = _STR_METHOD_CHECKS.get(getattr(obj, "__name__", ""))
            if check is not None:
                check(owner, *args, **kwargs)
        result = super().call(context, obj, *args, **kwargs)
        if _length(result) is not None:
            _refuse_text(len(result), f"{getattr(obj, '__name__', 'a call')}()")
        return result

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt: str = value.__self__

        def measured(*args: Any, **kwargs: Any) -> str:
            for _text, _field, spec, _conversion in Formatter().parse(fmt):
                _check_format_spec(spec or "", "format()")
            _check_text(args, "format()")
            _check_text(kwargs, "format()")
            return wrapped(*args, **kwargs)

        return measured

    @staticmethod
    def measured_concat(join: Callable[[Iterable[Any]], str], parts: tuple[Any, ...]) -> str:
        """`a ~ b ~ …`: the parts are measured before they are joined."""
        _check_text(parts, "~")
        return join(parts)


def _finalize(value: Any) -> Any:
    """What `{{ … }}` prints: never a function's repr (it shows a memory address), never a huge value."""
    if callable(value) and not isinstance(value, Undefined):  # Undefined is callable (to fail when called)
        name = getattr(value, "__name__", type(value).__name__)
        raise SecurityError(f'"{name}" is a function, not a value; call it with () or remove it')
    _check_text(value, "printing this value")
    return value


# ------------------------------------------------------------------ rendering within budget
def render_within_budget(template: Any, context: Mapping[str, Any], *,
                         seconds: float = MAX_RENDER_SECONDS) -> str:
    """Render `template`, raising OverBudget past `seconds` of work or MAX_OUTPUT characters.

    The time is checked on every line of the template's own code (loops included) by a tracer set
    for this thread only, so other threads are untouched; the thread's previous tracer (a debugger,
    coverage) is put back afterwards.
    """
    deadline = time.monotonic() + seconds
    chunks: list[str] = []
    size = 0
    previous = sys.gettrace()
    sys.settrace(_tracer(deadline, seconds))
    try:
        for chunk in _generate(template, context):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise OverBudget(f"the rendered text is longer than {MAX_OUTPUT:,} characters; shorten the template")
            chunks.append(chunk)
    finally:
        sys.settrace(previous)
    return "".join(chunks)


def _generate(template: Any, context: Mapping[str, Any]) -> Iterator[str]:
    return template.generate(context)  # type: ignore[no-any-return]


def _tracer(deadline: float, seconds: float) -> Callable[[FrameType, str, Any], Any]:
    def on_line(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line" and time.monotonic() > deadline:
            raise OverBudget(f"rendering took longer than {seconds:g} s, the limit for one message; look for "
                             "loops inside loops")
        return on_line

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        # Only the template's own frames are traced line by line: Jinja's and Python's stay at full speed.
        return on_line if frame.f_code.co_filename.startswith(_TEMPLATE_FILE_PREFIX) else None

    return on_call
