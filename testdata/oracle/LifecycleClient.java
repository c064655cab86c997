// An independent KooGallery client that knows only the spec (saas-v2 §1, §2.2, §2.7, §3, §4),
// never koogate's code. It plays the marketplace against a running production interface: one
// full SaaS lifecycle for the sandbox order MOCKPERIODYEARNEW, plus the security cases, checking
// every answer the way the seller-center debugger does, and decrypting the delivered credentials
// with the JDK's own SHA1PRNG + AES/CBC/PKCS5Padding, exactly as KooGallery's Java demo does.
//
// Run (JDK 17+, standard library only; single-file source launch, no javac step):
//
//   java testdata/oracle/LifecycleClient.java BASE_URL ACCESS_KEY ENCRYPT_TYPE
//
//   BASE_URL     the production-interface URL, e.g. http://127.0.0.1:8080/produce
//                (a URL with no path gets koogate's default path /produce)
//   ACCESS_KEY   the access key bound to the basic interfaces (KOOGATE_ACCESS_KEY)
//   ENCRYPT_TYPE 1 (AES-256), 2 (AES-128) or none: what the server is configured with
//
// It needs a fresh gateway (a new data directory): the order's instance ends released.
// Prints one line per step; on the first failure prints "FAIL ..." to stderr and exits 1.
// The last line on success is "userName=<decrypted admin account>". See README.md here.

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.crypto.Cipher;
import javax.crypto.KeyGenerator;
import javax.crypto.Mac;
import javax.crypto.SecretKey;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

public final class LifecycleClient {
    static final String ORDER_ID = "MOCKPERIODYEARNEW";
    static final String ORDER_LINE_ID = "MOCKPERIODYEARNEW-000001";
    // The renewal order of the sandbox (its MOCKMONTYRENEW mock order).
    static final String RENEW_ORDER_ID = "MOCKMONTYRENEW";
    static final String RENEW_ORDER_LINE_ID = "MOCKMONTYRENEW-000001";
    static final String PRODUCT_ID = "OFFI846204237451911168";
    // Spec saas-v2 §2.2: |now - timestamp| <= 60 s.
    static final long STALE_MS = 61_000;
    // queryInstance is polled until appInfo appears (spec §3.1: newInstance may answer 000004).
    static final Duration POLL_FOR = Duration.ofSeconds(20);

    static final SecureRandom RANDOM = new SecureRandom();
    static final DateTimeFormatter EXPIRE = DateTimeFormatter.ofPattern("yyyyMMddHHmmssSSS");

    final URI url;
    final String key;
    final String encryptType;
    final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    LifecycleClient(URI url, String key, String encryptType) {
        this.url = url;
        this.key = key;
        this.encryptType = encryptType;
    }

    public static void main(String[] args) {
        if (args.length != 3) {
            System.err.println("usage: java testdata/oracle/LifecycleClient.java BASE_URL ACCESS_KEY ENCRYPT_TYPE(1|2|none)");
            System.exit(2);
        }
        String encryptType = args[2].trim();
        if (!encryptType.equals("1") && !encryptType.equals("2") && !encryptType.equals("none")) {
            System.err.println("ENCRYPT_TYPE must be 1, 2 or none, not " + encryptType);
            System.exit(2);
        }
        URI url = URI.create(args[0]);
        if (url.getPath() == null || url.getPath().isEmpty() || url.getPath().equals("/")) {
            url = url.resolve("/produce");
        }
        try {
            new LifecycleClient(url, args[1], encryptType).run();
        } catch (Failure f) {
            System.err.println("FAIL " + f.getMessage());
            System.exit(1);
        } catch (Exception e) {
            System.err.println("FAIL unexpected error: " + e);
            System.exit(1);
        }
    }

    void run() throws Exception {
        System.out.println("production interface: " + url + " (encryptType " + encryptType + ")");

        // newInstance, then a resend with a new businessId: the same instance (spec §3.1).
        Map<String, Object> created = call("newInstance", newInstance(UUID.randomUUID().toString()), "000000", "000004");
        String instanceId = str(created, "instanceId", "newInstance");
        step("newInstance", "resultCode " + created.get("resultCode") + ", instanceId " + instanceId);
        Map<String, Object> again = call("newInstance (resend)", newInstance(UUID.randomUUID().toString()), "000000", "000004");
        expectEqual("newInstance (resend)", "instanceId", instanceId, str(again, "instanceId", "newInstance (resend)"));
        step("newInstance (resend)", "another businessId, same instanceId");

        // queryInstance until appInfo is there; decrypt the credentials (spec §3.2, §4).
        Map<String, Object> appInfo = pollAppInfo(instanceId);
        String frontEndUrl = str(appInfo, "frontEndUrl", "queryInstance appInfo");
        String userName = credential(appInfo, "userName");
        String password = credential(appInfo, "password");
        if (password.isEmpty()) {
            throw new Failure("queryInstance: the decrypted password is empty");
        }
        step("queryInstance", "appInfo with frontEndUrl " + frontEndUrl + ", userName and password decrypted ("
                + (encryptType.equals("none") ? "plain text" : "encryptType " + encryptType) + ")");

        // refreshInstance: a renewal with a new expiry, and its resend (spec §3.3).
        String expireTime = ZonedDateTime.now(ZoneOffset.UTC).plusYears(1).format(EXPIRE);
        String refresh = json("activity", "refreshInstance", "expireTime", expireTime, "instanceId", instanceId,
                "orderId", RENEW_ORDER_ID, "orderLineId", RENEW_ORDER_LINE_ID, "productId", PRODUCT_ID,
                "scene", "RENEWAL", "testFlag", "1");
        call("refreshInstance", refresh, "000000");
        call("refreshInstance (resend)", refresh, "000000");
        step("refreshInstance", "RENEWAL to " + expireTime + ", resend answered the same");

        // updateInstanceStatus (spec §3.4).
        for (String status : new String[] {"FREEZE", "UNFREEZE"}) {
            call("updateInstanceStatus " + status,
                    json("activity", "updateInstanceStatus", "instanceId", instanceId, "status", status, "testFlag", "1"),
                    "000000");
            step("updateInstanceStatus", status);
        }

        // Security (spec §2.2): every refusal is HTTP 200, resultCode 000001, and signed.
        String query = json("activity", "queryInstance", "instanceId", instanceId, "testFlag", "1");
        Signed good = sign(query, System.currentTimeMillis(), nonce());
        char first = good.signature.charAt(0);
        Signed tampered = new Signed(query, good.timestamp, good.nonce,
                (first == 'A' ? 'B' : 'A') + good.signature.substring(1));
        check("bad signature", send(tampered), "000001");
        step("bad signature", "000001");
        check("stale timestamp", send(sign(query, System.currentTimeMillis() - STALE_MS, nonce())), "000001");
        step("stale timestamp", "now - 61 s: 000001");
        Signed once = sign(query, System.currentTimeMillis(), nonce());
        Map<String, Object> accepted = check("replayed nonce (first use)", send(once), "000000");
        if (!(accepted.get("info") instanceof List)) {
            throw new Failure("replayed nonce (first use): queryInstance answer has no info array");
        }
        check("replayed nonce", send(once), "000001");
        step("replayed nonce", "first use 000000, the identical replay 000001");

        // releaseInstance, twice: a repeat must succeed without re-processing (spec §3.5).
        String release = json("activity", "releaseInstance", "instanceId", instanceId, "testFlag", "1");
        call("releaseInstance", release, "000000");
        call("releaseInstance (again)", release, "000000");
        step("releaseInstance", "000000, and 000000 again");

        System.out.println("lifecycle complete");
        System.out.println("userName=" + userName);
    }

    static String newInstance(String businessId) {
        return json("activity", "newInstance", "businessId", businessId, "orderId", ORDER_ID,
                "orderLineId", ORDER_LINE_ID, "testFlag", "1");
    }

    Map<String, Object> pollAppInfo(String instanceId) throws Exception {
        String body = json("activity", "queryInstance", "instanceId", instanceId, "testFlag", "1");
        long deadline = System.nanoTime() + POLL_FOR.toNanos();
        int calls = 0;
        while (true) {
            calls++;
            Map<String, Object> answer = call("queryInstance", body, "000000");
            Object info = answer.get("info");
            if (!(info instanceof List) || ((List<?>) info).isEmpty()) {
                throw new Failure("queryInstance: no info array in " + answer);
            }
            Object first = ((List<?>) info).get(0);
            if (!(first instanceof Map)) {
                throw new Failure("queryInstance: info[0] is not an object");
            }
            Map<String, Object> instance = asMap(first);
            expectEqual("queryInstance", "info[0].instanceId", instanceId, str(instance, "instanceId", "queryInstance info[0]"));
            if (instance.get("appInfo") instanceof Map) {
                checkEncryptType(answer);
                return asMap(instance.get("appInfo"));
            }
            if (System.nanoTime() > deadline) {
                throw new Failure("queryInstance: no appInfo after " + calls + " calls in " + POLL_FOR.toSeconds() + " s");
            }
            Thread.sleep(250);
        }
    }

    void checkEncryptType(Map<String, Object> answer) throws Failure {
        Object declared = answer.get("encryptType");
        if (encryptType.equals("none")) {
            if (declared != null) {
                throw new Failure("queryInstance: plain-text credentials but encryptType " + declared);
            }
        } else if (!encryptType.equals(declared)) {
            throw new Failure("queryInstance: encryptType is " + declared + ", expected \"" + encryptType + "\"");
        }
    }

    /** The decrypted userName or password (spec §4: 16-character IV, then base64 ciphertext). */
    String credential(Map<String, Object> appInfo, String field) throws Exception {
        String value = str(appInfo, field, "queryInstance appInfo");
        if (encryptType.equals("none")) {
            return value;
        }
        if (value.length() > 128) {
            throw new Failure(field + ": " + value.length() + " characters, more than the 128 KooGallery checks (spec §4)");
        }
        if (value.length() <= 16) {
            throw new Failure(field + ": too short to hold a 16-character IV and a ciphertext");
        }
        String iv = value.substring(0, 16);
        byte[] ciphertext;
        try {
            ciphertext = Base64.getDecoder().decode(value.substring(16));
        } catch (IllegalArgumentException e) {
            throw new Failure(field + ": the text after the IV is not standard base64");
        }
        // KooGallery's demo: KeyGenerator("AES") seeded through SHA1PRNG with the access key.
        KeyGenerator generator = KeyGenerator.getInstance("AES");
        SecureRandom prng = SecureRandom.getInstance("SHA1PRNG");
        prng.setSeed(key.getBytes(StandardCharsets.UTF_8));
        generator.init(encryptType.equals("1") ? 256 : 128, prng);
        SecretKey aes = generator.generateKey();
        Cipher cipher = Cipher.getInstance("AES/CBC/PKCS5Padding");
        cipher.init(Cipher.DECRYPT_MODE, new SecretKeySpec(aes.getEncoded(), "AES"),
                new IvParameterSpec(iv.getBytes(StandardCharsets.US_ASCII)));
        try {
            return new String(cipher.doFinal(ciphertext), StandardCharsets.UTF_8);
        } catch (Exception e) {
            throw new Failure(field + ": does not decrypt with encryptType " + encryptType + " and this access key (" + e + ")");
        }
    }

    // ---- signing and checking (spec §2.2, §2.7, §1) -------------------------------------------

    record Signed(String body, long timestamp, String nonce, String signature) {}

    /** Scheme A: signature = HEX(HMAC(key, key + nonce + timestamp + lowerhex(HMAC(key, body)))). */
    Signed sign(String body, long timestamp, String nonce) throws Exception {
        String payloadHex = hex(hmac(key, body.getBytes(StandardCharsets.UTF_8)));
        String canonical = key + nonce + timestamp + payloadHex;
        String signature = hex(hmac(key, canonical.getBytes(StandardCharsets.UTF_8))).toUpperCase();
        return new Signed(body, timestamp, nonce, signature);
    }

    /** Signs, sends and checks; `accepted` lists the resultCodes that count as success. */
    Map<String, Object> call(String step, String body, String... accepted) throws Exception {
        return check(step, send(sign(body, System.currentTimeMillis(), nonce())), accepted);
    }

    HttpResponse<byte[]> send(Signed signed) throws Exception {
        String query = "signature=" + enc(signed.signature) + "&timestamp=" + signed.timestamp + "&nonce=" + enc(signed.nonce);
        HttpRequest request = HttpRequest.newBuilder(URI.create(url + (url.getQuery() == null ? "?" : "&") + query))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json;charset=utf8")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(signed.body, StandardCharsets.UTF_8))
                .build();
        return http.send(request, HttpResponse.BodyHandlers.ofByteArray());
    }

    /** What the debugger checks (spec §1, §2.7), then the resultCode. */
    Map<String, Object> check(String step, HttpResponse<byte[]> response, String... accepted) throws Exception {
        byte[] body = response.body();
        String text = new String(body, StandardCharsets.UTF_8);
        if (response.statusCode() != 200) {
            throw new Failure(step + ": HTTP " + response.statusCode() + ", expected 200: " + text);
        }
        String contentType = response.headers().firstValue("Content-Type").orElse("");
        if (!contentType.equals("application/json") && !contentType.startsWith("application/json;")) {
            throw new Failure(step + ": Content-Type is \"" + contentType + "\", expected application/json");
        }
        String bodySign = response.headers().firstValue("Body-Sign")
                .orElseThrow(() -> new Failure(step + ": no Body-Sign header"));
        String expected = "sign_type=\"HMAC-SHA256\", signature=\"" + Base64.getEncoder().encodeToString(hmac(key, body)) + "\"";
        if (!bodySign.equals(expected)) {
            throw new Failure(step + ": Body-Sign is " + bodySign + ", expected " + expected
                    + " (is ACCESS_KEY the server's access key?)");
        }
        Object parsed;
        try {
            parsed = new Json(text).parse();
        } catch (RuntimeException e) {
            throw new Failure(step + ": the body is not JSON (" + e.getMessage() + "): " + text);
        }
        if (!(parsed instanceof Map)) {
            throw new Failure(step + ": the body is not a JSON object: " + text);
        }
        Map<String, Object> answer = asMap(parsed);
        Object code = answer.get("resultCode");
        if (!(code instanceof String)) {
            throw new Failure(step + ": no resultCode string in " + text);
        }
        if (answer.containsKey("resultMsg") && !(answer.get("resultMsg") instanceof String)) {
            throw new Failure(step + ": resultMsg is not a string in " + text);
        }
        for (String ok : accepted) {
            if (ok.equals(code)) {
                return answer;
            }
        }
        throw new Failure(step + ": resultCode " + code + ", expected " + String.join(" or ", accepted) + ": " + text);
    }

    // ---- helpers ------------------------------------------------------------------------------

    static final class Failure extends Exception {
        Failure(String message) {
            super(message);
        }
    }

    static void step(String name, String detail) {
        System.out.println("ok   " + name + ": " + detail);
    }

    static void expectEqual(String step, String what, String expected, String actual) throws Failure {
        if (!expected.equals(actual)) {
            throw new Failure(step + ": " + what + " is " + actual + ", expected " + expected);
        }
    }

    static String str(Map<String, Object> object, String field, String where) throws Failure {
        Object value = object.get(field);
        if (!(value instanceof String) || ((String) value).isEmpty()) {
            throw new Failure(where + ": no " + field + " string in " + object);
        }
        return (String) value;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> asMap(Object value) {
        return (Map<String, Object>) value;
    }

    static byte[] hmac(String key, byte[] message) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        return mac.doFinal(message);
    }

    static String hex(byte[] bytes) {
        StringBuilder sb = new StringBuilder(bytes.length * 2);
        for (byte b : bytes) {
            sb.append(Character.forDigit((b >> 4) & 0xF, 16)).append(Character.forDigit(b & 0xF, 16));
        }
        return sb.toString();
    }

    /** 64 uppercase hex characters, like the nonces in the spec's examples. */
    static String nonce() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return hex(bytes).toUpperCase();
    }

    static String enc(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    /** A compact JSON object of string fields, in the order given (the spec's bodies sort keys). */
    static String json(String... pairs) {
        StringBuilder sb = new StringBuilder("{");
        for (int i = 0; i < pairs.length; i += 2) {
            if (i > 0) {
                sb.append(',');
            }
            quote(sb, pairs[i]);
            sb.append(':');
            quote(sb, pairs[i + 1]);
        }
        return sb.append('}').toString();
    }

    static void quote(StringBuilder sb, String s) {
        sb.append('"');
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    /** A minimal JSON reader (RFC 8259) for the small answers: objects, arrays, strings, literals. */
    static final class Json {
        final String s;
        int i;

        Json(String s) {
            this.s = s;
        }

        Object parse() {
            Object value = value();
            ws();
            if (i != s.length()) {
                throw new IllegalArgumentException("trailing text at " + i);
            }
            return value;
        }

        void ws() {
            while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0) {
                i++;
            }
        }

        char peek() {
            if (i >= s.length()) {
                throw new IllegalArgumentException("unexpected end");
            }
            return s.charAt(i);
        }

        void expect(char c) {
            if (peek() != c) {
                throw new IllegalArgumentException("expected '" + c + "' at " + i);
            }
            i++;
        }

        Object value() {
            ws();
            char c = peek();
            if (c == '{') {
                Map<String, Object> object = new LinkedHashMap<>();
                i++;
                ws();
                if (peek() == '}') {
                    i++;
                    return object;
                }
                while (true) {
                    ws();
                    String name = string();
                    ws();
                    expect(':');
                    object.put(name, value());
                    ws();
                    if (peek() == ',') {
                        i++;
                        continue;
                    }
                    expect('}');
                    return object;
                }
            }
            if (c == '[') {
                List<Object> array = new ArrayList<>();
                i++;
                ws();
                if (peek() == ']') {
                    i++;
                    return array;
                }
                while (true) {
                    array.add(value());
                    ws();
                    if (peek() == ',') {
                        i++;
                        continue;
                    }
                    expect(']');
                    return array;
                }
            }
            if (c == '"') {
                return string();
            }
            for (String literal : new String[] {"true", "false", "null"}) {
                if (s.startsWith(literal, i)) {
                    i += literal.length();
                    return literal.equals("null") ? null : Boolean.valueOf(literal);
                }
            }
            int start = i;
            while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) {
                i++;
            }
            if (start == i) {
                throw new IllegalArgumentException("unexpected '" + c + "' at " + i);
            }
            return Double.valueOf(s.substring(start, i));
        }

        String string() {
            expect('"');
            StringBuilder sb = new StringBuilder();
            while (true) {
                char c = peek();
                i++;
                if (c == '"') {
                    return sb.toString();
                }
                if (c != '\\') {
                    sb.append(c);
                    continue;
                }
                char e = peek();
                i++;
                switch (e) {
                    case '"', '\\', '/' -> sb.append(e);
                    case 'b' -> sb.append('\b');
                    case 'f' -> sb.append('\f');
                    case 'n' -> sb.append('\n');
                    case 'r' -> sb.append('\r');
                    case 't' -> sb.append('\t');
                    case 'u' -> {
                        if (i + 4 > s.length()) {
                            throw new IllegalArgumentException("short \\u escape");
                        }
                        sb.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        i += 4;
                    }
                    default -> throw new IllegalArgumentException("bad escape \\" + e);
                }
            }
        }
    }
}
