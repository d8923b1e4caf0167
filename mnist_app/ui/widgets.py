"""Input widgets of our own: the drawing pad (the canvas component with buttons that work with a finger) and a
drawing grid for the keyboard."""

from __future__ import annotations

import functools
import io

import streamlit as st
from PIL import Image, ImageDraw, ImageFilter

# The canvas component draws its own toolbar (undo, redo, reset...) which shows on hover only: on a touch
# screen it stays invisible over the canvas' top-right corner, eating strokes that start there, and a tap
# can reset the drawing. It lives in the component's shadow DOM, out of reach of the page's CSS, so this
# script hides it there; the pad's own buttons below the canvas do its job. It also makes the toolbar inert: its
# hidden buttons were still stops for the Tab key, where the keyboard's focus vanished from sight.
_HIDE_CANVAS_TOOLBAR = """<script>
(() => {
  if (window.mnistCanvasToolbarHidden) return;
  window.mnistCanvasToolbarHidden = true;
  const quiet = root => root.querySelectorAll(".dc-toolbar:not([inert])").forEach(bar => { bar.inert = true; });
  const hide = () => document.querySelectorAll("[data-testid='stBidiComponentIsolated']").forEach(host => {
    const root = host.shadowRoot;
    if (!root) {  // the host is in the page before its shadow root: look again shortly
      setTimeout(hide, 50);
    } else if (!root.querySelector("style[data-mnist-toolbar]")) {
      const style = document.createElement("style");
      style.dataset.mnistToolbar = "hidden";
      style.textContent = ".dc-toolbar { display: none !important; }";
      root.appendChild(style);
      quiet(root);
      new MutationObserver(() => quiet(root)).observe(root, {childList: true, subtree: true});
    }
  });
  hide();
  new MutationObserver(hide).observe(document.body, {childList: true, subtree: true});
})();
</script>"""
BLANK_DRAWING = {"objects": [], "background": "#000000"}


def drawing_pad(key: str, *, width: int, height: int, stroke_width: int):
    """A black canvas with white ink and visible Undo, Redo and Clear buttons that work with a finger.

    The buttons rebuild the canvas from the strokes kept in the session (the canvas' `initial_drawing`,
    stamped with a revision so that every change is a new drawing for the component, which then sends
    the new picture back). The canvas keeps its key, so it never jumps while the page reruns.
    Returns the canvas' result (its `image_data` is None until something is drawn).
    """
    from streamlit_drawable_canvas import st_canvas  # only importable inside a running Streamlit app

    st.html(_HIDE_CANVAS_TOOLBAR, unsafe_allow_javascript=True)
    initial = st.session_state.setdefault(f"{key}_initial", {**BLANK_DRAWING, "revision": 0})
    redo = st.session_state.setdefault(f"{key}_redo", [])
    result = st_canvas(stroke_width=stroke_width, stroke_color="#FFFFFF", background_color="#000000", width=width,
                       height=height, drawing_mode="freedraw", return_image_data=True, update_streamlit=True,
                       initial_drawing=initial, key=key)
    strokes = list((result.json_data or initial).get("objects", []))
    if st.session_state.get(f"{key}_pending") and len(strokes) != len(initial["objects"]):
        strokes = list(initial["objects"])  # the canvas has yet to send back the drawing a button asked for
    else:
        st.session_state[f"{key}_pending"] = False
        if len(strokes) > len(initial["objects"]):
            redo.clear()  # a new stroke since the last undo: what was undone can no longer be redone

    def show(objects: list) -> None:
        st.session_state[f"{key}_initial"] = {**BLANK_DRAWING, "objects": objects,
                                             "revision": initial["revision"] + 1}
        st.session_state[f"{key}_pending"] = True

    def undo() -> None:
        redo.append(strokes[-1])
        show(strokes[:-1])

    def redo_last() -> None:
        show(strokes + [redo.pop()])

    def clear() -> None:
        redo.clear()
        show([])

    buttons = st.container(horizontal=True, gap="small", key=f"{key}_buttons")
    buttons.button("Undo", icon=":material/undo:", on_click=undo, disabled=not strokes, key=f"{key}_undo")
    buttons.button("Redo", icon=":material/redo:", on_click=redo_last, disabled=not redo, key=f"{key}_redo_button")
    buttons.button("Clear", icon=":material/delete:", on_click=clear, disabled=not strokes, key=f"{key}_clear")
    return result


def on_phone() -> bool:
    """Whether the browser says it is a phone (its User-Agent has "Mobi", as MDN recommends checking)."""
    try:
        return "Mobi" in (st.context.headers.get("User-Agent") or "")
    except Exception:  # no request headers (AppTest)
        return False


# A drawing grid for the keyboard (and switch access): the canvas can't take the focus. Arrow keys move a cursor,
# Space paints, Backspace erases, Enter sends the cells to the app, which reads them as it reads a drawing. The
# answer comes back in a live region inside the grid, which stays on the page, so screen readers announce it.
GRID_CELLS = 14  # per side: 20 px cells on a 280 px grid, the canvas' size
GRID_CELL_PX = 20
GRID_PEN_RADIUS = 15  # px: each painted cell is a round dab of ink, as a pen leaves...
GRID_PEN_BLUR = 4  # ...with soft edges (a blocky 14x14 "0" looked like no digit to the model; dabs read as one)

_GRID_HTML = """<div class="kg">
  <p class="kg-help" id="kg-help">Arrow keys move the square cursor, Space paints, Backspace erases,
    Shift with an arrow paints as it moves, Enter reads the digit.</p>
  <div class="kg-grid" tabindex="0" role="application" aria-roledescription="drawing grid"
       aria-label="Drawing grid, 14 by 14 cells" aria-describedby="kg-help"></div>
  <div class="kg-buttons"><button type="button" class="kg-read">Read (Enter)</button>
    <button type="button" class="kg-clear">Clear grid</button></div>
  <p class="kg-position" aria-live="polite"></p>
  <p class="kg-answer" role="status" aria-live="polite"></p>
</div>"""

_GRID_CSS = """
.kg { font-family: inherit; color: inherit; max-width: 280px; }
.kg-help { font-size: 0.85rem; margin: 0 0 6px; }
.kg-grid { display: grid; grid-template-columns: repeat(14, 20px); grid-auto-rows: 20px; width: 280px;
  background: #000; outline: none; border-radius: 2px; touch-action: manipulation; }
.kg-grid:focus-visible { box-shadow: 0 0 0 3px #ffb703; }
.kg-cell { box-sizing: border-box; border: 1px solid #1d1d1d; }
.kg-cell.ink { background: #fff; border-color: #fff; }
.kg-grid:focus .kg-cell.here, .kg-grid:focus-visible .kg-cell.here { outline: 3px solid #ffb703; outline-offset: -3px; }
.kg-buttons { display: flex; gap: 8px; margin-top: 8px; }
.kg-buttons button { font: inherit; font-size: 0.9rem; padding: 4px 10px; border-radius: 6px; cursor: pointer;
  color: inherit; background: transparent; border: 1px solid currentColor; }
.kg-buttons button:focus-visible { outline: 3px solid #ffb703; outline-offset: 2px; }
.kg-position { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
.kg-answer { font-size: 0.9rem; margin: 6px 0 0; min-height: 1.3em; }
"""

_GRID_JS = """
export default function (component) {
  const { parentElement, data, setStateValue } = component;
  const size = data.size;
  let state = parentElement.kgState;
  if (!state) {
    const grid = parentElement.querySelector(".kg-grid");
    const cells = [];
    for (let i = 0; i < size * size; i++) {
      const cell = document.createElement("div");
      cell.className = "kg-cell";
      cell.dataset.index = i;
      grid.appendChild(cell);
      cells.push(cell);
    }
    state = parentElement.kgState = { grid, cells, row: Math.floor(size / 2), col: Math.floor(size / 2) };
    const ink = state.ink = Array.from(data.cells || "0".repeat(size * size), c => c === "1");
    const position = parentElement.querySelector(".kg-position");
    const draw = () => {
      cells.forEach((cell, i) => { cell.classList.toggle("ink", ink[i]);
                                   cell.classList.toggle("here", i === state.row * size + state.col); });
    };
    const say = () => {
      const i = state.row * size + state.col;
      position.textContent = `Row ${state.row + 1}, column ${state.col + 1}, ${ink[i] ? "ink" : "empty"}.`;
    };
    const read = () => setStateValue("cells", ink.map(b => (b ? "1" : "0")).join(""));
    const clear = () => { ink.fill(false); draw(); position.textContent = "Grid cleared."; };
    grid.addEventListener("keydown", event => {
      const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
      if (event.key in moves) {
        const [dr, dc] = moves[event.key];
        state.row = Math.min(size - 1, Math.max(0, state.row + dr));
        state.col = Math.min(size - 1, Math.max(0, state.col + dc));
        if (event.shiftKey) ink[state.row * size + state.col] = true;
        draw(); say();
      } else if (event.key === " ") {
        ink[state.row * size + state.col] = true; draw(); say();
      } else if (event.key === "Backspace" || event.key === "Delete") {
        ink[state.row * size + state.col] = false; draw(); say();
      } else if (event.key === "Enter") {
        read();
      } else {
        return;
      }
      event.preventDefault();
    });
    grid.addEventListener("click", event => {  // a mouse or a finger may paint cells too
      const index = Number(event.target.dataset.index);
      if (Number.isNaN(index)) return;
      state.row = Math.floor(index / size); state.col = index % size;
      ink[index] = !ink[index]; draw();
    });
    parentElement.querySelector(".kg-read").addEventListener("click", read);
    parentElement.querySelector(".kg-clear").addEventListener("click", clear);
    draw();
  }
  const answer = parentElement.querySelector(".kg-answer");
  if (answer.textContent !== data.answer) answer.textContent = data.answer;
}
"""


@functools.cache
def _keyboard_grid_component():
    return st.components.v2.component("mnist_keyboard_grid", html=_GRID_HTML, css=_GRID_CSS, js=_GRID_JS)


def keyboard_cells(key: str) -> str | None:
    """The cells the grid `key` last sent ("0"/"1" per cell, row by row), or None before its first Enter: read
    before the grid is drawn, so the answer can be put in the grid's live region in the same run."""
    value = st.session_state.get(key)
    cells = value.get("cells") if hasattr(value, "get") else None
    return cells if isinstance(cells, str) and len(cells) == GRID_CELLS * GRID_CELLS else None


def keyboard_grid(key: str, *, cells: str | None, answer: str) -> None:
    """The keyboard drawing grid, with `answer` (a sentence) in its live region."""
    _keyboard_grid_component()(key=key, data={"size": GRID_CELLS, "cells": cells or "", "answer": answer},
                               default={"cells": ""}, on_cells_change=lambda: None, width=280)


def grid_picture(cells: str) -> bytes:
    """The grid's cells as a PNG a pen could have drawn: white dabs on black, 280x280, like the canvas."""
    side = GRID_CELLS * GRID_CELL_PX
    picture = Image.new("L", (side, side))
    pen = ImageDraw.Draw(picture)
    for index in (i for i, cell in enumerate(cells) if cell == "1"):
        x = (index % GRID_CELLS + 0.5) * GRID_CELL_PX
        y = (index // GRID_CELLS + 0.5) * GRID_CELL_PX
        pen.ellipse((x - GRID_PEN_RADIUS, y - GRID_PEN_RADIUS, x + GRID_PEN_RADIUS, y + GRID_PEN_RADIUS), fill=255)
    buffer = io.BytesIO()
    picture.filter(ImageFilter.GaussianBlur(GRID_PEN_BLUR)).save(buffer, format="PNG")
    return buffer.getvalue()
