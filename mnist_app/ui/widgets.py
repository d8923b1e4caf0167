"""Input widgets of our own: the drawing pad (the canvas component with buttons that work with a finger)."""

from __future__ import annotations

import streamlit as st

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
