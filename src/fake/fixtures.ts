/**
 * Verbatim recorded xAI bodies and streams, copied character for character from docs/upstream.md (source tags in
 * comments, see the source tags below). Ids shortened with "..." in docs/upstream.md are kept as printed there, so a replay is
 * byte-identical to the documented text. Used by the fake's recorded-* scenarios and by tests.
 */

/** A recorded chat stream: the JSON payload of each `data:` event, in order; [DONE] follows on the wire. */
export interface RecordedChatStream {
  readonly source: string;
  readonly payloads: readonly string[];
  /** Index in payloads of the `choices:[]` usage chunk (sent only when include_usage is true). */
  readonly usagePayloadIndex: number;
}

// docs/upstream.md §3.1, [FAN simple.yaml] grok-4-fast, 2026-03.
export const RECORDED_CHAT_SIMPLE: string = String.raw`{"id":"47a24a3a-ac8a-ca65-760b-6da4c149af44","object":"chat.completion","created":1773345547,
 "model":"grok-4-fast-reasoning",
 "choices":[{"index":0,"message":{"role":"assistant","content":"Olá!","refusal":null},"finish_reason":"stop"}],
 "usage":{"prompt_tokens":165,"completion_tokens":2,"total_tokens":292,
   "prompt_tokens_details":{"text_tokens":165,"audio_tokens":0,"image_tokens":0,"cached_tokens":156},
   "completion_tokens_details":{"reasoning_tokens":125,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0},
   "num_sources_used":0,"cost_in_usd_ticks":731000},
 "system_fingerprint":"fp_3d7ed3b779"}`;

// docs/upstream.md §3.1, [FAN tool.yaml]: tool call with content "" and finish_reason "tool_calls".
export const RECORDED_CHAT_TOOL: string = String.raw`{"id":"546bcc82-b37d-ca5d-aee1-0f2d503ee0b8","object":"chat.completion","created":1773345550,"model":"grok-4-fast-reasoning",
 "choices":[{"index":0,"message":{"role":"assistant","content":"",
   "tool_calls":[{"id":"call_98286056","function":{"name":"weather","arguments":"{\"location\":\"Florence, Italy\"}"},"type":"function"}],
   "refusal":null},"finish_reason":"tool_calls"}],
 "usage":{"prompt_tokens":361,"completion_tokens":26,"total_tokens":480,
   "prompt_tokens_details":{"text_tokens":361,"audio_tokens":0,"image_tokens":0,"cached_tokens":153},
   "completion_tokens_details":{"reasoning_tokens":93,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0},
   "num_sources_used":0,"cost_in_usd_ticks":1087500},
 "system_fingerprint":"fp_3d7ed3b779"}`;

// docs/upstream.md §5.1, [FAN simple_streaming.yaml] grok-4-fast with include_usage.
export const RECORDED_STREAM_SIMPLE: RecordedChatStream = {
  source: 'docs/upstream.md §5.1 [FAN simple_streaming.yaml]',
  payloads: [
    String.raw`{"id":"53ae0d64-4f1a-b4e2-9517-9d20013a1c9c","object":"chat.completion.chunk","created":1773345550,"model":"grok-4-fast-reasoning","choices":[{"index":0,"delta":{"content":"Olá","role":"assistant"}}],"system_fingerprint":"fp_3d7ed3b779"}`,
    String.raw`{"id":"53ae0d64-4f1a-b4e2-9517-9d20013a1c9c","object":"chat.completion.chunk","created":1773345550,"model":"grok-4-fast-reasoning","choices":[{"index":0,"delta":{"content":"!"}}],"system_fingerprint":"fp_3d7ed3b779"}`,
    String.raw`{"id":"53ae0d64-4f1a-b4e2-9517-9d20013a1c9c","object":"chat.completion.chunk","created":1773345550,"model":"grok-4-fast-reasoning","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"system_fingerprint":"fp_3d7ed3b779"}`,
    String.raw`{"id":"53ae0d64-4f1a-b4e2-9517-9d20013a1c9c","object":"chat.completion.chunk","created":1773345550,"model":"grok-4-fast-reasoning","choices":[],"usage":{"prompt_tokens":165,"completion_tokens":2,"total_tokens":296,"prompt_tokens_details":{"text_tokens":165,"audio_tokens":0,"image_tokens":0,"cached_tokens":164},"completion_tokens_details":{"reasoning_tokens":129,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0},"num_sources_used":0,"cost_in_usd_ticks":739000},"system_fingerprint":"fp_3d7ed3b779"}`,
  ],
  usagePayloadIndex: 3,
};

// docs/upstream.md §5.1, [FAN tool_streaming.yaml]: the whole tool call in one delta chunk.
export const RECORDED_STREAM_TOOL: RecordedChatStream = {
  source: 'docs/upstream.md §5.1 [FAN tool_streaming.yaml]',
  payloads: [
    String.raw`{"id":"8f008308-984b-9603-8706-ebf37f518892","object":"chat.completion.chunk","created":1773345555,"model":"grok-4-fast-reasoning","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"id":"call_51851897","function":{"name":"weather","arguments":"{\"location\":\"Florence, Italy\"}"},"index":0,"type":"function"}]}}],"system_fingerprint":"fp_3d7ed3b779"}`,
    String.raw`{"id":"8f008308-...","object":"chat.completion.chunk","created":1773345555,"model":"grok-4-fast-reasoning","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"system_fingerprint":"fp_3d7ed3b779"}`,
    String.raw`{"id":"8f008308-...","object":"chat.completion.chunk","created":1773345555,"model":"grok-4-fast-reasoning","choices":[],"usage":{"prompt_tokens":361,"completion_tokens":26,"total_tokens":622,"prompt_tokens_details":{"text_tokens":361,"audio_tokens":0,"image_tokens":0,"cached_tokens":360},"completion_tokens_details":{"reasoning_tokens":235,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0},"num_sources_used":0,"cost_in_usd_ticks":1487000},"system_fingerprint":"fp_3d7ed3b779"}`,
  ],
  usagePayloadIndex: 2,
};

// docs/upstream.md §5.1, [VAI __fixtures__/xai-text.chunks.txt] grok-3-mini 2026-02: reasoning_content before content.
export const RECORDED_STREAM_REASONING: RecordedChatStream = {
  source: 'docs/upstream.md §5.1 [VAI xai-text.chunks.txt]',
  payloads: [
    String.raw`{"id":"7327b9f5-1c2f-0a15-3fef-c14a71c460d3","object":"chat.completion.chunk","created":1770774058,"model":"grok-3-mini","choices":[{"index":0,"delta":{"reasoning_content":"First","role":"assistant"}}],"system_fingerprint":"fp_2a885414fb"}`,
    String.raw`{"id":"7327b9f5-...","object":"chat.completion.chunk","created":1770774058,"model":"grok-3-mini","choices":[{"index":0,"delta":{"reasoning_content":","}}],"system_fingerprint":"fp_2a885414fb"}`,
    String.raw`{"id":"7327b9f5-...","object":"chat.completion.chunk","created":1770774061,"model":"grok-3-mini","choices":[{"index":0,"delta":{"content":"Hello"}}],"system_fingerprint":"fp_2a885414fb"}`,
    String.raw`{"id":"7327b9f5-...","object":"chat.completion.chunk","created":1770774061,"model":"grok-3-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"system_fingerprint":"fp_2a885414fb"}`,
    String.raw`{"id":"7327b9f5-...","object":"chat.completion.chunk","created":1770774061,"model":"grok-3-mini","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":1,"total_tokens":303,"prompt_tokens_details":{"text_tokens":12,"audio_tokens":0,"image_tokens":0,"cached_tokens":11},"completion_tokens_details":{"reasoning_tokens":290,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0},"num_sources_used":0,"cost_in_usd_ticks":1466250},"system_fingerprint":"fp_2a885414fb"}`,
  ],
  usagePayloadIndex: 4,
};

// docs/upstream.md §3.3, [VAI responses fixture xai-web-search-tool.1.json] (trimmed there, kept as printed).
export const RECORDED_RESPONSE_WEB_SEARCH: string = String.raw`{"created_at":1762189566,"id":"25de2f84-163c-6e9e-e42e-cd1dbd6f9ed0","max_output_tokens":null,
 "model":"grok-4-fast-reasoning","object":"response",
 "output":[{"type":"web_search_call","id":"ws_...","status":"completed","action":{"type":"search","query":"..."}},
           {"type":"message","id":"msg_25de2f84-...","role":"assistant","status":"completed",
            "content":[{"type":"output_text","text":"...","logprobs":[],"annotations":[{"type":"url_citation","url":"https://...","title":"...","start_index":0,"end_index":0}]}]}],
 "parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},
 "temperature":null,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[{"type":"web_search"}],"top_p":null,
 "usage":{"input_tokens":1941,"input_tokens_details":{"cached_tokens":947},
          "output_tokens":583,"output_tokens_details":{"reasoning_tokens":380},
          "total_tokens":2524,"num_sources_used":0,"num_server_side_tools_used":1},
 "user":null,"incomplete_details":null,"status":"completed","store":true,"metadata":{}}`;

// docs/upstream.md §3.5, [OAS] GET /v1/models.
export const RECORDED_MODELS_LIST: string = String.raw`{"data":[{"id":"grok-4-0709","created":1752019200,"object":"model","owned_by":"xai"},
         {"id":"grok-code-fast-1","created":1755993600,"object":"model","owned_by":"xai"},
         {"id":"grok-3","created":1743724800,"object":"model","owned_by":"xai"},
         {"id":"grok-3-mini","created":1743724800,"object":"model","owned_by":"xai"},
         {"id":"grok-2-image-1212","created":1736726400,"object":"model","owned_by":"xai"},
         {"id":"grok-2-vision-1212","created":1733961600,"object":"model","owned_by":"xai"}],
 "object":"list"}`;

// docs/upstream.md §3.5, [OAS] GET /v1/language-models.
export const RECORDED_LANGUAGE_MODELS: string = String.raw`{"models":[{"id":"grok-3","fingerprint":"fp_898ae9f31c","created":1743724800,"object":"model","owned_by":"xai","version":"1.0",
  "input_modalities":["text"],"output_modalities":["text"],
  "prompt_text_token_price":30000,"cached_prompt_text_token_price":7500,"prompt_image_token_price":0,
  "completion_text_token_price":150000,"search_price":250000000,"aliases":["grok-3-latest","grok-3-beta"]},
 {"id":"grok-3-mini","fingerprint":"fp_6a09108ff5","created":1743724800,"object":"model","owned_by":"xai","version":"1.0",
  "input_modalities":["text"],"output_modalities":["text"],"prompt_text_token_price":3000,"cached_prompt_text_token_price":750,
  "prompt_image_token_price":0,"completion_text_token_price":5000,"search_price":250000000,"aliases":["grok-3-mini-latest","grok-3-mini-beta"]}]}`;

// docs/upstream.md §3.10, [OAS][DOC-other] GET /v1/api-key.
export const RECORDED_API_KEY: string = String.raw`{"redacted_api_key":"xai-...b14o","user_id":"59fbe5f2-040b-46d5-8325-868bb8f23eb2","name":"My API Key",
 "create_time":"2024-01-01T12:55:18.139305Z","modify_time":"2024-08-28T17:20:12.343321Z",
 "modified_by":"3d38b4dc-4eb7-4785-ae26-c3fa8997ffc7","team_id":"5ea6f6bd-7815-4b8a-9135-28b2d7ba6722",
 "acls":["api-key:model:*","api-key:endpoint:*"],"api_key_id":"ae1e1841-4326-4b36-a8a9-8a1a7237db11",
 "team_blocked":false,"api_key_blocked":false,"api_key_disabled":false}`;
