// Independent known-answer oracle for koogate's protocol crate.
//
// Computes every signature scheme and cipher of the protocol with the JDK's own JCE (HmacSHA256,
// SHA1PRNG + KeyGenerator, AES/CBC/PKCS5Padding, RSA OAEP, SHA-256), which is exactly what
// KooGallery's Java demos use, and writes testdata/oracle/vectors.json. Nothing here is derived
// from koogate's Rust code. Where the specs print a vector, the oracle reproduces it first and
// stops if it cannot.
//
// Run from the repository root:   java testdata/oracle/Oracle.java
// (JDK 17+, and python3 for the kit canonical JSON; see testdata/oracle/README.md.)

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import javax.crypto.Cipher;
import javax.crypto.KeyGenerator;
import javax.crypto.Mac;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import javax.crypto.spec.SecretKeySpec;

public final class Oracle {
    static final Path DIR = Paths.get("testdata", "oracle");
    static final Path OUT = DIR.resolve("vectors.json");
    static final Path RSA_PEM = DIR.resolve("rsa-test-private.pem");
    static final String COMMAND = "java testdata/oracle/Oracle.java   (from the repository root; JDK 17+ and python3)";

    // ---- keys and bodies shared by the sections ------------------------------------------------

    static final String K_SPEC = "test-access-key-0001";
    static final String K_KIT = "test-kit-key-0001";
    static final String K_UUID = "5f0c2a9e-7b41-4d8e-9c3a-1e6f2b8d4a70";
    static final String K_LONG = repeatTo("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_", 100);
    static final String K_UNICODE = "密钥-ключ-🔑-Schlüssel";

    static final String TS = "1680508066618";
    static final String NONCE64 = "50D83FDECAED6CCD8EF597F2A577950527928BA287D04E6036E92B2806FD17DA";
    static final String NONCE32 = "Of4lsV7H1qrzVDI52O5CFk2ofPcZRaA6";
    static final String NONCE16 = "RLLUammMSInlrNWb";

    static final String BODY_NEW_INSTANCE = "{\"activity\":\"newInstance\",\"businessId\":\"87b94795-0603-4e24-8ae5-69420d60e3c8\",\"orderId\":\"CS2211181819B4LVS\",\"orderLineId\":\"CS2211181819B4LVS-000001\",\"testFlag\":\"1\"}";
    static final String BODY_REFRESH_LICENSE = "{\"activity\":\"refreshLicenseCode\",\"expireTime\":\"20230523201932\",\"license\":\"TESTLICENSE0001\",\"orderId\":\"CS2211181819B4LVS\",\"orderLineId\":\"CS2211181819B4LVS-000001\",\"scene\":\"RENEWAL\",\"testFlag\":\"1\"}";
    static final String BODY_CHINESE = "{\"activity\":\"newInstance\",\"customerName\":\"华为云商店测试用户\",\"memo\":\"开通成功✅ 北京/上海\",\"orderId\":\"CS2211181819B4LVS\",\"testFlag\":\"1\"}";
    static final String BODY_ORDER_NOTIFY = "{\"activity\":\"orderNotify\",\"orderId\":\"CS2211181819B4LVS\",\"orderLineId\":\"CS2211181819B4LVS-000001\",\"testFlag\":\"1\"}";
    static final String BODY_LONG = longBody();

    public static void main(String[] args) throws Exception {
        if (!Files.isDirectory(DIR)) {
            throw new IllegalStateException("run from the repository root: " + DIR + " not found");
        }
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("generator", "testdata/oracle/Oracle.java on Java SE " + System.getProperty("java.specification.version")
                + " JCE (HmacSHA256, SHA1PRNG+KeyGenerator, AES/CBC/PKCS5Padding, RSA/ECB/OAEPPadding, SHA-256)"
                + " + testdata/oracle/json_canon.py for kit canonical JSON");
        root.put("command", COMMAND);
        root.put("scheme_a", schemeA());
        root.put("body_sign", bodySign());
        root.put("kit", kit());
        root.put("v1_auth_token", v1AuthToken());
        root.put("usage", usage());
        root.put("apig", apig());
        root.put("webhook", webhook());
        root.put("sha1prng", sha1prng());
        root.put("credential", credential());
        root.put("rsa_oaep", rsaOaep());
        StringBuilder sb = new StringBuilder();
        Json.write(sb, root, 0);
        sb.append('\n');
        Files.write(OUT, sb.toString().getBytes(StandardCharsets.UTF_8));
        System.err.println("wrote " + OUT + " (" + sb.length() + " chars); every spec vector reproduced");
    }

    // ---- scheme A: production-interface signature (saas-v2 §2.2) ------------------------------

    static List<Object> schemeA() throws Exception {
        List<Object> cases = new ArrayList<>();
        Map<String, Object> c;
        c = schemeACase(K_SPEC, TS, NONCE64, BODY_NEW_INSTANCE);
        expect("saas-v2 §2.4 payload_hex", c.get("payload_hex"), "7c3423c08d12337dd359ce871f975ad942cfea7f9216e66e32389c76d6c0ebd3");
        expect("saas-v2 §2.4 signature", c.get("signature"), "C506F4221EC15F98C40B8A5D5065D8B815A2C5596CF4421382088B5652565458");
        cases.add(c);
        c = schemeACase(K_SPEC, "1666677988730", NONCE16, BODY_REFRESH_LICENSE);
        expect("license-kit §2.2.2 payload_hex", c.get("payload_hex"), "7c5d8c90fc58650512ff901cebc39fcdec41e3747648ea9230889661d8f3e8c4");
        expect("license-kit §2.2.2 signature", c.get("signature"), "357B0A709073BD57E04B9DCF99A7A028F6D5AD9D2A818DBDFB64CBEC6CE38224");
        cases.add(c);
        cases.add(schemeACase(K_UUID, "1729566664115", NONCE32, BODY_CHINESE));
        cases.add(schemeACase(K_UUID, "1729566664115", NONCE32, BODY_ORDER_NOTIFY));
        cases.add(schemeACase(K_LONG, "1700000000000", NONCE16, ""));
        cases.add(schemeACase(K_UNICODE, "1700000000001", NONCE64, BODY_LONG));
        cases.add(schemeACase(K_LONG, "1700000000002", "nonce-with-中文", BODY_CHINESE));
        return cases;
    }

    static Map<String, Object> schemeACase(String key, String ts, String nonce, String body) throws Exception {
        String payloadHex = hex(hmac(utf8(key), utf8(body)));
        String signature = hex(hmac(utf8(key), utf8(key + nonce + ts + payloadHex))).toUpperCase();
        return obj("key", key, "timestamp", ts, "nonce", nonce, "body", body, "payload_hex", payloadHex, "signature", signature);
    }

    // ---- Body-Sign response header (saas-v2 §2.7) ---------------------------------------------

    static List<Object> bodySign() throws Exception {
        List<Object> cases = new ArrayList<>();
        Map<String, Object> c = bodySignCase(K_SPEC, "{\"resultCode\":\"000000\",\"resultMsg\":\"success\"}");
        expect("saas-v2 §2.7 Body-Sign", c.get("signature"), "NWjSlxQiRCQZdKCr0RCDj7iXKh2uQqUOo5GbL0/7gpM=");
        cases.add(c);
        cases.add(bodySignCase(K_UUID, "{\"resultCode\":\"000000\",\"resultMsg\":\"成功\",\"instanceId\":\"10e758d0-31ad-4c4b-8f1b-81d03469a10e\"}"));
        cases.add(bodySignCase(K_UUID, "{\"resultCode\":\"000001\",\"resultMsg\":\"鉴权失败\"}"));
        cases.add(bodySignCase(K_LONG, ""));
        cases.add(bodySignCase(K_UNICODE, BODY_LONG));
        return cases;
    }

    static Map<String, Object> bodySignCase(String key, String body) throws Exception {
        return obj("key", key, "body", body, "signature", b64(hmac(utf8(key), utf8(body))));
    }

    // ---- scheme B: kit x-sign (license-kit §4.3) ----------------------------------------------

    static List<Object> kit() throws Exception {
        List<Object> cases = new ArrayList<>();
        Map<String, Object> c;
        c = kitCase(K_KIT, TS, NONCE64,
                "{\"instanceId\":\"huaiweitest123456\",\"orderId\":\"CS1906666666ABCDE\",\"tenantId\":\"68cbc86abcdef0123456880d92f36422fa0e\",\"tenantCode\":\"huawei\",\"name\":\"huaiweitest\",\"domainName\":\"https://example.tenantaccount.com\",\"flag\":1,\"testFlag\":0,\"timeStamp\":\"20220413093539534\"}");
        expect("license-kit §4.3 tenantSync canonical", c.get("canonical"),
                "{\"domainName\":\"https://example.tenantaccount.com\",\"flag\":1,\"instanceId\":\"huaiweitest123456\",\"name\":\"huaiweitest\",\"orderId\":\"CS1906666666ABCDE\",\"tenantCode\":\"huawei\",\"tenantId\":\"68cbc86abcdef0123456880d92f36422fa0e\",\"testFlag\":0,\"timeStamp\":\"20220413093539534\"}");
        expect("license-kit §4.3 tenantSync x-sign", c.get("x_sign"), "255A537169F1896AD4A4CD2A5630DE8A847E41D5BEFECB13B9247346D0277D93");
        cases.add(c);
        c = kitCase(K_KIT, TS, "0123456789ABCDEF0123456789ABCDEF",
                "{\"instanceId\":\"huaiweitest123456\",\"tenantId\":\"68cbc86abcdef0123456880d92f36422fa0e\",\"appId\":\"KSIDJF1234456\",\"userList\":[{\"userName\":\"zhangsan01\",\"name\":\"张三\",\"orgCode\":\"10000\",\"role\":\"admin\",\"enable\":\"true\",\"employeeType\":1}],\"currentSyncTime\":\"20220413093539534\",\"flag\":1,\"testFlag\":1,\"timeStamp\":\"20220413093539534\"}");
        expect("license-kit §4.3 authSync canonical", c.get("canonical"),
                "{\"appId\":\"KSIDJF1234456\",\"currentSyncTime\":\"20220413093539534\",\"flag\":1,\"instanceId\":\"huaiweitest123456\",\"tenantId\":\"68cbc86abcdef0123456880d92f36422fa0e\",\"testFlag\":1,\"timeStamp\":\"20220413093539534\",\"userList\":[{\"userName\":\"zhangsan01\",\"name\":\"张三\",\"orgCode\":\"10000\",\"role\":\"admin\",\"enable\":\"true\",\"employeeType\":1}]}");
        expect("license-kit §4.3 authSync x-sign", c.get("x_sign"), "8FF54895CC39D683A491EC92146738050E223BA6FBC2AF514C03A542F40FED27");
        cases.add(c);
        // Pretty-printed input, \\u escapes and \/ that the canonical form writes raw, top-level
        // nulls dropped but nested nulls kept, nested key order kept.
        cases.add(kitCase(K_UUID, "1729566664115", NONCE32,
                "{\n  \"tenantName\" : \"\\u534e\\u4e3a\\u4e91\",\n  \"orgList\" : [ {\"orgCode\":\"20\",\"parentCode\":null,\"orgName\":\"研发部\"}, {\"orgName\":\"市场部\",\"orgCode\":\"10\"} ],\n  \"deleted\" : null,\n  \"domainName\" : \"https:\\/\\/t.example.com\\/idaas\",\n  \"flag\" : 2,\n  \"amount\" : 12.78,\n  \"ratio\" : 0.5,\n  \"big\" : 12345678901234567890,\n  \"negative\" : -42,\n  \"enabled\" : true,\n  \"memo\" : \"line1\\nline2\\tend\\u0001\",\n  \"empty\" : {},\n  \"list\" : []\n}"));
        // UTF-16 order differs from code point order: U+1F600 (surrogates D83D..) sorts before U+FF46.
        cases.add(kitCase(K_UNICODE, "1729566664116", NONCE16,
                "{\"ｆ\":\"fullwidth f\",\"😀\":\"emoji\",\"é\":\"e acute\",\"a\":1,\"_\":2,\"Z\":3,\"aa\":4,\"A\":null}"));
        cases.add(kitCase(K_LONG, "1700000000000", NONCE64, "{}"));
        cases.add(kitCase(K_KIT, "1700000000001", NONCE32, "{\"flag\":1,\"instanceId\":\"\",\"tenantId\":\"t-长\",\"blob\":\"" + repeatTo("租户数据-tenant-0123456789|", 9000) + "\",\"appId\":\"KSIDJF1234456\"}"));
        return cases;
    }

    static Map<String, Object> kitCase(String key, String ts, String nonce, String body) throws Exception {
        String canonical = canonicalJson(body);
        String sign = hex(hmac(utf8(key), utf8(key + nonce + ts + canonical))).toUpperCase();
        return obj("key", key, "timestamp", ts, "nonce", nonce, "body", body, "canonical", canonical, "x_sign", sign);
    }

    static String canonicalJson(String body) throws Exception {
        Process p = new ProcessBuilder("python3", DIR.resolve("json_canon.py").toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(utf8(body));
        }
        byte[] out;
        try (InputStream stdout = p.getInputStream()) {
            out = stdout.readAllBytes();
        }
        if (p.waitFor() != 0) {
            throw new IllegalStateException("json_canon.py failed for body " + body);
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    // ---- V1 authToken (saas-v2 §2.6) ----------------------------------------------------------

    static List<Object> v1AuthToken() throws Exception {
        List<Object> cases = new ArrayList<>();
        Map<String, Object> c = v1Case(K_SPEC, "20220413093539534", new String[][] {
                {"testFlag", "1"}, {"orderId", "CS1906666666ABCDE"}, {"timeStamp", "20220413093539534"},
                {"activity", "newInstance"}, {"customerId", "68cbc86abc"}, {"businessId", "87b94795-0603-4e24-8ae5-69420d60e3c8"}});
        expect("saas-v2 §2.6 canonical", c.get("canonical"),
                "activity=newInstance&businessId=87b94795-0603-4e24-8ae5-69420d60e3c8&customerId=68cbc86abc&orderId=CS1906666666ABCDE&testFlag=1&timeStamp=20220413093539534");
        expect("saas-v2 §2.6 authToken", c.get("auth_token"), "e7hpJ7jBUK/Q8tb+GVEskzV59EVGqBh0GG6jEc++s8U=");
        cases.add(c);
        cases.add(v1Case(K_UUID, "20240317144237123", new String[][] {
                {"timeStamp", "20240317144237123"}, {"customerName", "华为用户 测试"}, {"email", "a+b@example.com"},
                {"query", "x=1&y=2/3"}, {"Zeta", "uppercase sorts first"}, {"activity", "newInstance"}}));
        // authToken itself is never signed; empty values stay as "name=".
        cases.add(v1Case(K_LONG, "20240317144237124", new String[][] {
                {"authToken", "Eh/3Ud+R1j3d/wOui5CAcvRipM8IuribvgkXfJAsTfE="}, {"p3", "3"}, {"p1", "1"}, {"p2", ""},
                {"timeStamp", "20240317144237124"}}));
        cases.add(v1Case(K_UNICODE, "20240317144237125", new String[][] {
                {"timeStamp", "20240317144237125"}, {"saasExtendParams", repeatTo("eyJuYW1lIjoi5Lit5paHIn0=", 8400)}}));
        cases.add(v1Case(K_UUID, "20240317144237126", new String[][] {{"timeStamp", "20240317144237126"}}));
        return cases;
    }

    static Map<String, Object> v1Case(String key, String ts, String[][] params) throws Exception {
        TreeMap<String, String> sorted = new TreeMap<>();
        List<Object> pairs = new ArrayList<>();
        for (String[] kv : params) {
            pairs.add(Arrays.asList(kv[0], kv[1]));
            if (!kv[0].equals("authToken")) {
                sorted.put(kv[0], kv[1]);
            }
        }
        StringBuilder canonical = new StringBuilder();
        for (Map.Entry<String, String> e : sorted.entrySet()) {
            canonical.append('&').append(e.getKey()).append('=').append(e.getValue());
        }
        String signed = canonical.substring(1);
        String token = b64(hmac(utf8(key + ts), utf8(signed)));
        return obj("key", key, "timestamp", ts, "params", pairs, "canonical", signed, "auth_token", token);
    }

    // ---- usage push body signature (saas-v2 §7.2) ---------------------------------------------

    static List<Object> usage() throws Exception {
        List<Object> cases = new ArrayList<>();
        Map<String, Object> c = usageCase(K_SPEC, "1660036200000", "0123456789abcdef",
                "{\"usage_records\":[{\"begin_time\":\"20220809T080000Z\",\"end_time\":\"20220809T090000Z\",\"instance_id\":\"7f141bf1-aec8-4859-8323-fb3a8ad50721\",\"metering_sn\":\"a1b2c3\",\"record_time\":\"20220809T091000Z\",\"usage_value\":\"99\"}]}");
        expect("saas-v2 §7.2 usage signature", c.get("signature"), "jSPtsXenmPFYapD/X8qO6DjpQSxPL+Jn5SGpNfqXx0s=");
        cases.add(c);
        cases.add(usageCase(K_UUID, "1729566664115", NONCE32,
                "{\"usage_records\":[{\"begin_time\":\"20241022T000000Z\",\"end_time\":\"20241022T010000Z\",\"instance_id\":\"实例-0001\",\"metering_sn\":\"计量-0001\",\"record_time\":\"20241022T011000Z\",\"usage_value\":\"1.2345\"}]}"));
        cases.add(usageCase(K_LONG, "1700000000000", NONCE16, ""));
        cases.add(usageCase(K_UNICODE, "1700000000001", NONCE64, longUsageBody(60)));
        return cases;
    }

    static Map<String, Object> usageCase(String key, String ts, String nonce, String body) throws Exception {
        String msg = "ts=" + ts + "&nonce=" + nonce + "&body=" + body;
        return obj("key", key, "ts", ts, "nonce", nonce, "body", body, "signature", b64(hmac(utf8(key), utf8(msg))));
    }

    // ---- APIG SDK-HMAC-SHA256 (license-kit §6.1) ----------------------------------------------

    static final String DATE = "20240317T144237Z";
    static final String MKT = "https://mkt.myhuaweicloud.com/api/mkp-openapi-public/global/v1";

    static List<Object> apig() throws Exception {
        List<Object> cases = new ArrayList<>();
        String[][] json = {{"Content-Type", "application/json"}};
        Map<String, Object> c;
        c = apigCase("test", "123", "POST", MKT + "/license/activate", DATE,
                new String[][] {{"x-stage", "RELEASE"}, {"Content-Type", "application/json"}}, "");
        expectEnd("license-kit §6.1 reproduced vector", c.get("authorization"),
                "Signature=77595ad624b6e4e49990b8c4e84bf1c287457fca61069c4e60b9b6765b52053d");
        expect("license-kit §6.1 reproduced StringToSign hash", sha256Hex(utf8((String) c.get("canonical_request"))),
                "9a33b07351104f6c775075faa7dc0db58ec18bc532feaa8fd0b8fcf7990b1a9e");
        cases.add(c);
        String ak = "TESTAK0000000000";
        String sk = "TESTSK0000000000000000000000000000000000";
        c = apigCase(ak, sk, "GET", MKT + "/order/query?orderLineId=MOCKPERIODYEARNEW-000001&orderId=MOCKPERIODYEARNEW", DATE, json, "");
        expectEnd("license-kit §6.1 order query", c.get("authorization"),
                "Signature=709239d12ed219f74f057eb5dedf0084d5a04e0e85346c3bba55b13ca3e7efe1");
        cases.add(c);
        c = apigCase(ak, sk, "POST", MKT + "/license/activate", DATE, json, "{\"license\":\"TESTLICENSE0001\"}");
        expectEnd("license-kit §6.1 activate", c.get("authorization"),
                "Signature=e802bdee6c67a962d12286bb1ecf03952c67dd52ead7f4dfc1fb0682b92bb2af");
        cases.add(c);
        // Query values with spaces, '/', Chinese, '~' (unreserved) and '*' (reserved): decoded, then
        // RFC 3986-encoded again; keys sorted.
        cases.add(apigCase("AK-" + K_UUID, K_UUID, "GET",
                MKT + "/order/query?orderId=CS%20001%2F2&note=%E5%8C%97%E4%BA%AC%20%E4%B8%8A%E6%B5%B7&path=/a/b~c&star=%2A&empty=",
                "20241022T031415Z", json, ""));
        cases.add(apigCase(K_UUID, K_UNICODE, "POST", MKT + "/isv/usage-data", "20241022T031416Z",
                new String[][] {{"Content-Type", "application/json;charset=utf8"}, {"X-Project-Id", "  padded value  "}},
                "{\"usage_records\":[{\"instance_id\":\"实例-0001\",\"usage_value\":\"1.5\"}]}"));
        cases.add(apigCase(K_LONG, K_LONG, "PUT", "https://mkt.example.test:8443/api/mkp-openapi-public/global/v1/isv/usage-data",
                "20241022T031417Z", json, longUsageBody(60)));
        // Path segments are decoded and re-encoded; a trailing '/' is not doubled.
        cases.add(apigCase("test", "123", "DELETE", "https://127.0.0.1:9000/api/v1/%E8%B5%84%E6%BA%90/a%20b/", DATE, new String[0][], ""));
        return cases;
    }

    static Map<String, Object> apigCase(String ak, String sk, String method, String url, String date, String[][] extra, String body)
            throws Exception {
        URI uri = new URI(url);
        String host = uri.getHost() + (uri.getPort() == -1 ? "" : ":" + uri.getPort());
        TreeMap<String, String> signed = new TreeMap<>();
        List<Object> headerPairs = new ArrayList<>();
        for (String[] h : extra) {
            headerPairs.add(Arrays.asList(h[0], h[1]));
            signed.put(h[0].toLowerCase(), h[1].trim());
        }
        signed.put("host", host);
        signed.put("x-sdk-date", date);
        StringBuilder headers = new StringBuilder();
        for (Map.Entry<String, String> e : signed.entrySet()) {
            headers.append(e.getKey()).append(':').append(e.getValue()).append('\n');
        }
        String signedHeaders = String.join(";", signed.keySet());
        String canonical = method + "\n" + canonicalUri(uri.getRawPath()) + "\n" + canonicalQuery(uri.getRawQuery()) + "\n"
                + headers + "\n" + signedHeaders + "\n" + sha256Hex(utf8(body));
        String stringToSign = "SDK-HMAC-SHA256\n" + date + "\n" + sha256Hex(utf8(canonical));
        String signature = hex(hmac(utf8(sk), utf8(stringToSign)));
        String authorization = "SDK-HMAC-SHA256 Access=" + ak + ", SignedHeaders=" + signedHeaders + ", Signature=" + signature;
        return obj("ak", ak, "sk", sk, "method", method, "url", url, "date", date, "headers", headerPairs, "body", body,
                "canonical_request", canonical, "authorization", authorization);
    }

    static String canonicalUri(String rawPath) {
        String[] segments = (rawPath == null ? "" : rawPath).split("/", -1);
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < segments.length; i++) {
            if (i > 0) {
                out.append('/');
            }
            out.append(rfc3986(percentDecode(segments[i])));
        }
        if (out.length() == 0 || out.charAt(out.length() - 1) != '/') {
            out.append('/');
        }
        return out.toString();
    }

    static String canonicalQuery(String rawQuery) {
        if (rawQuery == null || rawQuery.isEmpty()) {
            return "";
        }
        TreeMap<String, List<String>> params = new TreeMap<>();
        for (String kv : rawQuery.split("&")) {
            if (kv.isEmpty()) {
                continue;
            }
            int eq = kv.indexOf('=');
            String k = percentDecode(eq < 0 ? kv : kv.substring(0, eq));
            String v = eq < 0 ? "" : percentDecode(kv.substring(eq + 1));
            params.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
        }
        List<String> parts = new ArrayList<>();
        for (Map.Entry<String, List<String>> e : params.entrySet()) {
            List<String> values = new ArrayList<>(e.getValue());
            values.sort(null);
            for (String v : values) {
                parts.add(rfc3986(e.getKey()) + "=" + rfc3986(v));
            }
        }
        return String.join("&", parts);
    }

    /** Percent-decoding as UTF-8; '+' stays '+' (the SDKs use unquote, not form decoding). */
    static String percentDecode(String s) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] b = utf8(s);
        for (int i = 0; i < b.length; i++) {
            if (b[i] == '%' && i + 2 < b.length) {
                out.write(Integer.parseInt(new String(b, i + 1, 2, StandardCharsets.US_ASCII), 16));
                i += 2;
            } else {
                out.write(b[i]);
            }
        }
        return new String(out.toByteArray(), StandardCharsets.UTF_8);
    }

    /** RFC 3986: everything but A-Z a-z 0-9 - _ . ~ becomes %XX (uppercase hex) of its UTF-8 bytes. */
    static String rfc3986(String s) {
        StringBuilder out = new StringBuilder();
        for (byte x : utf8(s)) {
            int c = x & 0xff;
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~') {
                out.append((char) c);
            } else {
                out.append('%').append(String.format("%02X", c));
            }
        }
        return out.toString();
    }

    // ---- Standard Webhooks (koogate's own outbound hooks) -------------------------------------

    static List<Object> webhook() throws Exception {
        List<Object> cases = new ArrayList<>();
        Map<String, Object> c = webhookCase("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330L,
                "{\"test\": 2432232314}");
        expect("Standard Webhooks published vector", c.get("signature"), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        cases.add(c);
        byte[] secret = new byte[32];
        new Random(20241022L).nextBytes(secret);
        String whsec = "whsec_" + b64(secret);
        cases.add(webhookCase(whsec, "msg_" + K_UUID, 1729566664L,
                "{\"type\":\"instance.created\",\"data\":{\"instanceId\":\"实例-0001\",\"customerName\":\"华为云商店测试用户\"}}"));
        cases.add(webhookCase(whsec, "msg_empty_body", 1729566665L, ""));
        cases.add(webhookCase("whsec_" + b64(utf8(K_LONG)), "msg_long", 1729566666L, BODY_LONG));
        // A secret without the whsec_ prefix is used as its UTF-8 bytes.
        cases.add(webhookCase("koogate-webhook-secret-密钥", "msg_raw_secret", 1729566667L, "{\"type\":\"ping\"}"));
        return cases;
    }

    static Map<String, Object> webhookCase(String secret, String id, long ts, String body) throws Exception {
        byte[] key = secret.startsWith("whsec_") ? Base64.getDecoder().decode(secret.substring(6)) : utf8(secret);
        String signature = "v1," + b64(hmac(key, utf8(id + "." + ts + "." + body)));
        return obj("secret", secret, "msg_id", id, "timestamp", ts, "body", body, "signature", signature);
    }

    // ---- SHA1PRNG stream (saas-v2 §4) ---------------------------------------------------------

    static List<Object> sha1prng() throws Exception {
        List<Object> cases = new ArrayList<>();
        Map<String, Object> c = sha1prngCase(K_SPEC, 32);
        expect("saas-v2 §4 SHA1PRNG 32 bytes", c.get("hex"), "fa32b243c1eeb23e93357bb8be8ec84903d6395e4f1ccb2379a1666d99a6ab9f");
        cases.add(c);
        cases.add(sha1prngCase(K_SPEC, 16));
        cases.add(sha1prngCase(K_SPEC, 100));
        cases.add(sha1prngCase("", 64));
        cases.add(sha1prngCase(K_UUID, 0));
        cases.add(sha1prngCase(K_UUID, 1));
        cases.add(sha1prngCase(K_UUID, 20));
        cases.add(sha1prngCase(K_UUID, 21));
        cases.add(sha1prngCase(K_UUID, 40));
        cases.add(sha1prngCase(K_LONG, 1000));
        cases.add(sha1prngCase(K_UNICODE, 33));
        cases.add(sha1prngCase(BODY_LONG, 48));
        return cases;
    }

    static Map<String, Object> sha1prngCase(String seed, int length) throws Exception {
        SecureRandom prng = SecureRandom.getInstance("SHA1PRNG");
        prng.setSeed(utf8(seed));
        byte[] one = new byte[length];
        prng.nextBytes(one);
        // Java keeps the unused tail of each block: a split request continues the same stream.
        SecureRandom again = SecureRandom.getInstance("SHA1PRNG");
        again.setSeed(utf8(seed));
        byte[] split = new byte[length];
        for (int off = 0, step = 7; off < length; off += step, step = step * 3 % 23 + 1) {
            byte[] part = new byte[Math.min(step, length - off)];
            again.nextBytes(part);
            System.arraycopy(part, 0, split, off, part.length);
        }
        expect("SHA1PRNG split stream for seed length " + seed.length(), hex(split), hex(one));
        return obj("seed", seed, "length", length, "hex", hex(one));
    }

    // ---- AES-CBC credentials (saas-v2 §4) -----------------------------------------------------

    static final String SPEC_IV = "Ab3dE5gH7jK9mN1p";

    static List<Object> credential() throws Exception {
        List<Object> cases = new ArrayList<>();
        String[][] spec = {
            {"1", "admin", "Ab3dE5gH7jK9mN1p9dWjFx3tSwe15wjO75iDJg=="},
            {"1", "P@ssw0rd!2024", "Ab3dE5gH7jK9mN1pu6z7gQ93YTwrUkbmPUVDPA=="},
            {"1", "13800138000", "Ab3dE5gH7jK9mN1pN9zr1sLwodttmjKf0dXGSw=="},
            {"1", "管理员", "Ab3dE5gH7jK9mN1p9xQJz2iQiy9fhrO9b9tLAA=="},
            {"2", "admin", "Ab3dE5gH7jK9mN1pLZsQG5iISEoHiWOlmDisJQ=="},
            {"2", "P@ssw0rd!2024", "Ab3dE5gH7jK9mN1pRoDEuEr6YBLm7Qkt14HBqQ=="},
            {"2", "13800138000", "Ab3dE5gH7jK9mN1pKI8kJxxYjvWWGpJ98gjbuQ=="},
            {"2", "管理员", "Ab3dE5gH7jK9mN1pEC89cBV+1Tt2Jrd5qXBizQ=="},
        };
        for (String[] row : spec) {
            Map<String, Object> c = credentialCase(K_SPEC, row[0], SPEC_IV, row[1]);
            expect("saas-v2 §4 " + row[0] + " " + row[1], c.get("ciphertext"), row[2]);
            String derived = row[0].equals("1") ? "fa32b243c1eeb23e93357bb8be8ec84903d6395e4f1ccb2379a1666d99a6ab9f"
                    : "fa32b243c1eeb23e93357bb8be8ec849";
            expect("saas-v2 §4 derived key " + row[0], c.get("derived_key_hex"), derived);
            cases.add(c);
        }
        Random ivs = new Random(20240317L);
        String[] plaintexts = {
            "",
            "a",
            repeatTo("P@ssw0rd-0123456789-", 79),           // 79 bytes: the longest that fits 128
            repeatTo("P@ssw0rd-0123456789-", 80),           // 80 bytes: 144 characters, does not fit
            "华为云管理员密码",
            "密".repeat(26) + "x",                           // 79 bytes of mostly 3-byte characters
            "user@example.com 🔑",
        };
        for (String key : new String[] {K_UUID, K_LONG, K_UNICODE}) {
            for (String type : new String[] {"1", "2"}) {
                for (String p : plaintexts) {
                    cases.add(credentialCase(key, type, randomIv(ivs), p));
                }
            }
        }
        cases.add(credentialCase(K_UUID, "1", randomIv(ivs), repeatTo("长密码-long-", 8200)));
        cases.add(credentialCase(K_UUID, "2", randomIv(ivs), repeatTo("长密码-long-", 8200)));
        return cases;
    }

    static Map<String, Object> credentialCase(String key, String type, String iv, String plaintext) throws Exception {
        int bits = type.equals("1") ? 256 : 128;
        // Exactly the demos' derivation: KeyGenerator("AES") initialised with a seeded SHA1PRNG.
        KeyGenerator kg = KeyGenerator.getInstance("AES");
        SecureRandom prng = SecureRandom.getInstance("SHA1PRNG");
        prng.setSeed(utf8(key));
        kg.init(bits, prng);
        byte[] aesKey = kg.generateKey().getEncoded();
        Cipher cipher = Cipher.getInstance("AES/CBC/PKCS5Padding");
        cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(aesKey, "AES"), new IvParameterSpec(iv.getBytes(StandardCharsets.US_ASCII)));
        String ciphertext = iv + b64(cipher.doFinal(utf8(plaintext)));
        // Decrypt back with a fresh cipher, as the receiving side would.
        Cipher back = Cipher.getInstance("AES/CBC/PKCS5Padding");
        back.init(Cipher.DECRYPT_MODE, new SecretKeySpec(aesKey, "AES"), new IvParameterSpec(utf8(ciphertext.substring(0, 16))));
        expect("credential round trip", new String(back.doFinal(Base64.getDecoder().decode(ciphertext.substring(16))), StandardCharsets.UTF_8), plaintext);
        return obj("key", key, "encrypt_type", type, "iv", iv, "plaintext", plaintext, "derived_key_hex", hex(aesKey),
                "ciphertext", ciphertext, "fits", ciphertext.length() <= 128);
    }

    static String randomIv(Random r) {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        return sb.toString();
    }

    // ---- RSA-OAEP clientSecret (license-kit §4.5) ---------------------------------------------

    static Map<String, Object> rsaOaep() throws Exception {
        RSAPrivateCrtKey priv = loadOrCreateRsaKey();
        PublicKey pub = KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(priv.getModulus(), priv.getPublicExponent()));
        List<Object> cases = new ArrayList<>();
        String[] plaintexts = {
            "b0c1a8f4e2d94f3c9a7e6d5c4b3a2910",
            "客户端密钥-clientSecret-测试",
            "",
        };
        int seed = 1;
        for (String variant : new String[] {"sha256", "sha1", "sha256-mgf1-sha1"}) {
            for (String p : plaintexts) {
                cases.add(rsaCase(pub, priv, variant, p, seed++));
            }
            // The longest plaintext the variant allows: k - 2*hLen - 2 bytes for a 384-byte modulus.
            int max = 384 - 2 * (variant.equals("sha1") ? 20 : 32) - 2;
            cases.add(rsaCase(pub, priv, variant, repeatTo("0123456789abcdef", max), seed++));
        }
        // Java's transformation string alone, no explicit parameters: OAEPWithSHA-256AndMGF1Padding
        // defaults to MGF1-SHA-1, i.e. the third variant.
        Cipher c = Cipher.getInstance("RSA/ECB/OAEPWithSHA-256AndMGF1Padding");
        c.init(Cipher.ENCRYPT_MODE, pub, seeded(seed++));
        String javaDefault = b64(c.doFinal(utf8("java-default-oaep-sha256")));
        expect("Java default OAEPWithSHA-256AndMGF1Padding is SHA-256/MGF1-SHA-1",
                rsaDecrypt(priv, "sha256-mgf1-sha1", javaDefault), "java-default-oaep-sha256");
        cases.add(obj("variant", "sha256-mgf1-sha1", "plaintext", "java-default-oaep-sha256", "ciphertext_b64", javaDefault));
        return obj("private_key_pem_file", "testdata/oracle/rsa-test-private.pem", "cases", cases);
    }

    static Map<String, Object> rsaCase(PublicKey pub, RSAPrivateCrtKey priv, String variant, String plaintext, int seed) throws Exception {
        Cipher c = Cipher.getInstance("RSA/ECB/OAEPPadding");
        c.init(Cipher.ENCRYPT_MODE, pub, oaep(variant), seeded(seed));
        String ct = b64(c.doFinal(utf8(plaintext)));
        expect("RSA " + variant + " round trip", rsaDecrypt(priv, variant, ct), plaintext);
        return obj("variant", variant, "plaintext", plaintext, "ciphertext_b64", ct);
    }

    static String rsaDecrypt(RSAPrivateCrtKey priv, String variant, String ctB64) throws Exception {
        Cipher c = Cipher.getInstance("RSA/ECB/OAEPPadding");
        c.init(Cipher.DECRYPT_MODE, priv, oaep(variant));
        return new String(c.doFinal(Base64.getDecoder().decode(ctB64)), StandardCharsets.UTF_8);
    }

    static OAEPParameterSpec oaep(String variant) {
        switch (variant) {
            case "sha256":
                return new OAEPParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT);
            case "sha1":
                return new OAEPParameterSpec("SHA-1", "MGF1", MGF1ParameterSpec.SHA1, PSource.PSpecified.DEFAULT);
            case "sha256-mgf1-sha1":
                return new OAEPParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA1, PSource.PSpecified.DEFAULT);
            default:
                throw new IllegalArgumentException(variant);
        }
    }

    /** A deterministic source for the OAEP seed, so re-running yields the same ciphertexts. */
    static SecureRandom seeded(int seed) throws Exception {
        SecureRandom r = SecureRandom.getInstance("SHA1PRNG");
        r.setSeed(utf8("koogate-oracle-oaep-" + seed));
        return r;
    }

    static final String PEM_NOTICE = "TEST ONLY - DO NOT USE FOR ANYTHING REAL.\n"
            + "koogate oracle RSA-3072 test key (testdata/oracle/Oracle.java generated it once; it is public).\n";

    static RSAPrivateCrtKey loadOrCreateRsaKey() throws Exception {
        if (!Files.exists(RSA_PEM)) {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(3072);
            KeyPair kp = g.generateKeyPair();
            String body = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(kp.getPrivate().getEncoded());
            String pem = PEM_NOTICE + "-----BEGIN PRIVATE KEY-----\n" + body + "\n-----END PRIVATE KEY-----\n";
            Files.write(RSA_PEM, utf8(pem));
            System.err.println("generated a new test key " + RSA_PEM);
        }
        String pem = new String(Files.readAllBytes(RSA_PEM), StandardCharsets.UTF_8);
        int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----");
        int end = pem.indexOf("-----END PRIVATE KEY-----");
        String b64 = pem.substring(begin + "-----BEGIN PRIVATE KEY-----".length(), end).replaceAll("\\s", "");
        RSAPrivateCrtKey key = (RSAPrivateCrtKey) KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64)));
        if (key.getModulus().bitLength() != 3072) {
            throw new IllegalStateException("test key is not 3072 bits");
        }
        return key;
    }

    // ---- helpers ------------------------------------------------------------------------------

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] hmac(byte[] key, byte[] msg) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(msg);
    }

    static String sha256Hex(byte[] data) throws Exception {
        return hex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) {
            sb.append(String.format("%02x", x & 0xff));
        }
        return sb.toString();
    }

    static String b64(byte[] b) {
        return Base64.getEncoder().encodeToString(b);
    }

    static void expect(String what, Object actual, String expected) {
        if (!expected.equals(actual)) {
            throw new IllegalStateException(what + ": oracle computed " + actual + ", expected " + expected);
        }
    }

    static void expectEnd(String what, Object actual, String suffix) {
        if (!(actual instanceof String) || !((String) actual).endsWith(suffix)) {
            throw new IllegalStateException(what + ": oracle computed " + actual + ", expected ..." + suffix);
        }
    }

    static String repeatTo(String unit, int bytes) {
        StringBuilder sb = new StringBuilder();
        while (utf8(sb.toString()).length < bytes) {
            int need = bytes - utf8(sb.toString()).length;
            for (int i = 0; i < unit.length() && need > 0; ) {
                int cp = unit.codePointAt(i);
                int len = utf8(new String(Character.toChars(cp))).length;
                if (len > need) {
                    return pad(sb, need);
                }
                sb.appendCodePoint(cp);
                need -= len;
                i += Character.charCount(cp);
            }
        }
        return sb.toString();
    }

    /** Finishes a repeat with ASCII when the next character would overshoot the byte count. */
    static String pad(StringBuilder sb, int need) {
        for (int i = 0; i < need; i++) {
            sb.append('.');
        }
        return sb.toString();
    }

    static String longBody() {
        return "{\"activity\":\"queryInstance\",\"instanceId\":\"10e758d0-31ad-4c4b-8f1b-81d03469a10e\",\"memo\":\""
                + repeatTo("云商店-KooGallery-0123456789|", 8400) + "\",\"testFlag\":\"1\"}";
    }

    static String longUsageBody(int records) {
        StringBuilder sb = new StringBuilder("{\"usage_records\":[");
        for (int i = 0; i < records; i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append(String.format("{\"begin_time\":\"20241022T%02d0000Z\",\"end_time\":\"20241022T%02d0000Z\","
                    + "\"instance_id\":\"7f141bf1-aec8-4859-8323-fb3a8ad5%04d\",\"metering_sn\":\"计量-%06d\","
                    + "\"record_time\":\"20241022T%02d1000Z\",\"usage_value\":\"%d.%04d\"}", i % 24, (i + 1) % 24, i, i, (i + 1) % 24, i, i * 37 % 10000));
        }
        return sb.append("]}").toString();
    }

    static Map<String, Object> obj(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    /** A small deterministic JSON writer: 2-space indent, non-ASCII raw, arrays of scalars inline. */
    static final class Json {
        static void write(StringBuilder sb, Object v, int indent) {
            if (v instanceof Map) {
                Map<?, ?> m = (Map<?, ?>) v;
                sb.append("{\n");
                int i = 0;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    sb.append("  ".repeat(indent + 1));
                    string(sb, (String) e.getKey());
                    sb.append(": ");
                    write(sb, e.getValue(), indent + 1);
                    sb.append(++i < m.size() ? ",\n" : "\n");
                }
                sb.append("  ".repeat(indent)).append('}');
            } else if (v instanceof List) {
                List<?> l = (List<?>) v;
                boolean scalars = l.stream().noneMatch(x -> x instanceof Map || x instanceof List);
                if (l.isEmpty() || scalars) {
                    sb.append('[');
                    for (int i = 0; i < l.size(); i++) {
                        write(sb, l.get(i), indent);
                        if (i + 1 < l.size()) {
                            sb.append(", ");
                        }
                    }
                    sb.append(']');
                    return;
                }
                sb.append("[\n");
                for (int i = 0; i < l.size(); i++) {
                    sb.append("  ".repeat(indent + 1));
                    write(sb, l.get(i), indent + 1);
                    sb.append(i + 1 < l.size() ? ",\n" : "\n");
                }
                sb.append("  ".repeat(indent)).append(']');
            } else if (v instanceof String) {
                string(sb, (String) v);
            } else if (v instanceof Number || v instanceof Boolean) {
                sb.append(v);
            } else {
                throw new IllegalArgumentException("cannot write " + v);
            }
        }

        static void string(StringBuilder sb, String s) {
            sb.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"': sb.append("\\\""); break;
                    case '\\': sb.append("\\\\"); break;
                    case '\n': sb.append("\\n"); break;
                    case '\r': sb.append("\\r"); break;
                    case '\t': sb.append("\\t"); break;
                    default:
                        if (c < 0x20) {
                            sb.append(String.format("\\u%04x", (int) c));
                        } else {
                            sb.append(c);
                        }
                }
            }
            sb.append('"');
        }
    }
}
