package examples;

import com.google.genai.Client;
import com.google.genai.ResponseStream;
import com.google.genai.types.GenerateContentConfig;
import com.google.genai.types.GenerateContentResponse;
import com.google.genai.types.HttpOptions;

/**
 * Gemini through the official Java SDK (com.google.genai), pointed at localaik.
 *
 * <pre>
 *   localaik serve --mode replay --cassette cassettes/examples.db &amp;
 *   cd examples/java &amp;&amp; mvn -q compile exec:java -Dexec.mainClass=examples.GeminiExample
 * </pre>
 *
 * <p>One plain call and one streamed call. The base URL comes from LOCALAIK_URL (default
 * http://127.0.0.1:8090); the API key is a dummy, since localaik never checks or stores it.
 */
public final class GeminiExample {
  private static final String MODEL = "gemini-2.5-flash";
  private static final String PROMPT = "What colour is the sky on a clear day?";

  public static void main(String[] args) throws Exception {
    String baseUrl = System.getenv().getOrDefault("LOCALAIK_URL", "http://127.0.0.1:8090");
    // A short answer keeps the recording small.
    GenerateContentConfig config = GenerateContentConfig.builder().maxOutputTokens(32).build();

    try (Client client =
        Client.builder()
            .apiKey("test")
            .httpOptions(HttpOptions.builder().baseUrl(baseUrl).build())
            .build()) {
      GenerateContentResponse response = client.models.generateContent(MODEL, PROMPT, config);
      System.out.println("generateContent: " + response.text());

      StringBuilder text = new StringBuilder();
      try (ResponseStream<GenerateContentResponse> stream =
          client.models.generateContentStream(MODEL, PROMPT, config)) {
        for (GenerateContentResponse chunk : stream) {
          String piece = chunk.text();
          if (piece != null) {
            text.append(piece);
          }
        }
      }
      System.out.println("generateContentStream: " + text);
    }
  }
}
