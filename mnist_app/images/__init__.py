"""Reading images: decoding and MNIST-style preprocessing (`preprocess`), the digits of a whole number
(`segment`), the one way in for every face (`reading`), why-this-digit maps (`explain`) and the guarded URL
fetcher (`fetch`).

Imports: `network` (a predictor is handed in), `store` and the top-level basics. Nothing here keeps state of a
server: the dashboard's shared predictor lives in `serving`.
"""
