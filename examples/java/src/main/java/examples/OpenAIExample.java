package examples;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;

/**
 * OpenAI chat completions through the official Java SDK (com.openai:openai-java), pointed at
 * localaik.
 *
 * <pre>
 *   localaik serve --mode replay --cassette cassettes/examples.db &amp;
 *   cd examples/java &amp;&amp; mvn -q compile exec:java -Dexec.mainClass=examples.OpenAIExample
 * </pre>
 *
 * <p>One plain call and one streamed call. The base URL comes from LOCALAIK_URL (default
 * http://127.0.0.1:8090; the OpenAI API lives under /v1); the API key is a dummy.
 */
public final class OpenAIExample {
  public static void main(String[] args) throws Exception {
    String baseUrl = System.getenv().getOrDefault("LOCALAIK_URL", "http://127.0.0.1:8090");
    OpenAIClient client =
        OpenAIOkHttpClient.builder().apiKey("test").baseUrl(baseUrl + "/v1").build();
    ChatCompletionCreateParams params =
        ChatCompletionCreateParams.builder()
            .model("gpt-4o-mini")
            .addUserMessage("Say hello in one short sentence.")
            .maxTokens(32L) // max_tokens, as the other samples send; a short answer stays small
            .build();

    ChatCompletion completion = client.chat().completions().create(params);
    System.out.println(
        "chat.completions: " + completion.choices().get(0).message().content().orElse(""));

    StringBuilder text = new StringBuilder();
    try (StreamResponse<ChatCompletionChunk> stream =
        client.chat().completions().createStreaming(params)) {
      stream.stream()
          .forEach(chunk -> chunk.choices()
              .forEach(choice -> choice.delta().content().ifPresent(text::append)));
    }
    System.out.println("chat.completions stream: " + text);
    client.close();
  }
}
