<?php
// The partner API reference's PHP client, corrected: it uploads the photo it tries on, accepts 200 and 201
// (the first API version answers a cart create 201), and its loop ends on every terminal status.

class GarmaxAIClient {
    private $apiKey;
    private $baseUrl;

    public function __construct($apiKey, $baseUrl = 'https://api.garmaxai.com/api') {
        $this->apiKey = $apiKey;
        $this->baseUrl = $baseUrl;
    }

    private function request($method, $path, $body = null, $json = true) {
        $ch = curl_init($this->baseUrl . $path);
        $headers = ['X-API-Key: ' . $this->apiKey];
        if ($method === 'POST') {
            $headers[] = 'Idempotency-Key: ' . bin2hex(random_bytes(16));
        }
        $options = [CURLOPT_CUSTOMREQUEST => $method, CURLOPT_RETURNTRANSFER => true];
        if ($body !== null) {
            if ($json) {
                $headers[] = 'Content-Type: application/json';
                $body = json_encode($body);
            }
            $options[CURLOPT_POSTFIELDS] = $body;
        }
        $options[CURLOPT_HTTPHEADER] = $headers;
        curl_setopt_array($ch, $options);
        $response = curl_exec($ch);
        $httpCode = curl_getinfo($ch, CURLINFO_HTTP_CODE);
        curl_close($ch);
        if ($httpCode < 200 || $httpCode >= 300) {
            throw new Exception('API request failed (' . $httpCode . '): ' . $response);
        }
        return json_decode($response, true);
    }

    public function upsertCustomer($externalId, $name) {
        return $this->request('POST', '/v1/customers', ['externalId' => $externalId, 'name' => $name]);
    }

    public function uploadPhoto($externalId, $path) {
        $form = ['photo' => new CURLFile($path, 'image/jpeg', basename($path))];
        return $this->request('POST', '/v1/customers/' . rawurlencode($externalId) . '/photos', $form, false);
    }

    public function createCartTryon($cartId, $customerPhotoS3Key, $cartItems) {
        return $this->request('POST', '/v1/cart-tryons', [
            'cartId' => $cartId,
            'customerPhotoS3Key' => $customerPhotoS3Key,
            'cartItems' => $cartItems,
            'renderQuality' => 'hd',
            'backgroundScene' => 'studio',
        ]);
    }

    public function getCartTryon($sessionId) {
        return $this->request('GET', '/v1/cart-tryons/' . rawurlencode($sessionId));
    }
}

$client = new GarmaxAIClient(getenv('GARMAX_API_KEY'), getenv('GARMAX_BASE_URL') ?: 'https://api.garmaxai.com/api');
$client->upsertCustomer('customer_12345', 'John Doe');
$photo = $client->uploadPhoto('customer_12345', getenv('PHOTO_PATH') ?: 'me.jpg');

$session = $client->createCartTryon('cart_' . time(), $photo['photoS3Key'], [
    [
        'productId' => 'prod_001',
        'variantId' => 'var_blue_m',
        'name' => 'Blue T-Shirt',
        'imageUrl' => getenv('GARMENT_URL') ?: 'https://shop.com/tshirt.jpg',
        'category' => 'tops',
        'quantity' => 1,
        'price' => 29.99,
        'currency' => 'USD',
    ],
]);
echo "Session created: " . $session['id'] . "\n";

$terminal = ['completed', 'partial', 'failed', 'cancelled'];
$attempts = 0;
do {
    sleep(2);
    $result = $client->getCartTryon($session['id']);
    echo "Status: " . $result['status'] . ", Progress: " . $result['progress'] . "%\n";
} while (!in_array($result['status'], $terminal, true) && ++$attempts < 60);

foreach ($result['cartItems'] as $item) {
    echo $item['name'] . ': ' . $item['status'] . ' ' . ($item['resultUrl'] ?? '') . "\n";
}
