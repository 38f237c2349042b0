#!/usr/bin/env python
"""An openai-python script (after openai's examples/demo.py), run unchanged by the drop-in test.

Only the two import lines differ between the openai and the llmfailover runs. The key and the
base URL come from OPENAI_API_KEY and OPENAI_BASE_URL.
"""

import openai
from openai import OpenAI

# gets API Key from environment variable OPENAI_API_KEY
client = OpenAI()

# Non-streaming:
print("----- standard request -----")
completion = client.chat.completions.create(
    model="gpt-4",
    messages=[
        {
            "role": "user",
            "content": "Say this is a test",
        },
    ],
)
print(completion.choices[0].message.content)
print(completion.usage.total_tokens > 0, completion.choices[0].finish_reason)

# Streaming:
print("----- streaming request -----")
stream = client.chat.completions.create(
    model="gpt-4",
    messages=[
        {
            "role": "user",
            "content": "How do I output all files in a directory using Python?",
        },
    ],
    stream=True,
    stream_options={"include_usage": True},
)
for chunk in stream:
    if not chunk.choices:
        continue

    print(chunk.choices[0].delta.content, end="")
print()

# Response headers:
print("----- custom response headers test -----")
response = client.chat.completions.with_raw_response.create(
    model="gpt-4",
    messages=[
        {
            "role": "user",
            "content": "Say this is a test",
        }
    ],
)
completion = response.parse()
print(response.request_id is not None, response.status_code)
print(completion.choices[0].message.content)

# Embeddings and models:
print("----- embeddings and models -----")
embedding = client.embeddings.create(model="text-embedding-3-small", input=["one", "two"])
print(len(embedding.data), [round(x, 4) for x in embedding.data[0].embedding[:3]])
print(sorted(model.id for model in client.models.list())[:3])

# Errors:
print("----- errors -----")
try:
    client.with_options(max_retries=0).chat.completions.create(model="rate-limited", messages=[])
except openai.RateLimitError as err:
    print(type(err).__name__, err.status_code)
try:
    client.with_options(max_retries=0).chat.completions.create(model="broken", messages=[])
except openai.APIStatusError as err:
    print(type(err).__name__, err.status_code, isinstance(err, openai.APIError))
