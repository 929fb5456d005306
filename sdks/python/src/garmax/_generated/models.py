# Generated from sdks/openapi.json by sdks/generate.py (datamodel-code-generator): do not edit.

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypeAlias, TypedDict

AccountStatusEnum: TypeAlias = Literal['active', 'suspended']


ActionEnum: TypeAlias = Literal['added', 'invited', 'invitation_accepted', 'invitation_revoked', 'role_changed', 'removed', 'left', 'ownership_transferred']


class ApiKeyEvent(TypedDict):
    id: int
    type: str
    keyId: str
    actor: str | None
    changes: dict[str, Any]
    createdAt: str


class ApiKeyRollRequest(TypedDict):
    expiresIn: NotRequired[int]


ApiVersionEnum: TypeAlias = Literal['2026-01-15', '2026-11-01']


AssignableRoleEnum: TypeAlias = Literal['admin', 'developer', 'billing', 'viewer']


BackgroundSceneEnum: TypeAlias = Literal['original', 'studio', 'white']


BlankEnum: TypeAlias = Literal['']


class Cancellation(TypedDict):
    refundedCredits: float
    refundedItemCount: int
    itemStillRendering: bool


class Error(TypedDict):
    code: str
    message: str


class Items(TypedDict):
    productId: str
    variantId: str


class Look(TypedDict):
    lookId: NotRequired[str]
    items: list[str | Items]


CartTryOnSessionStatusEnum: TypeAlias = Literal['queued', 'processing', 'completed', 'partial', 'failed', 'cancelled']


CartTryonCancelledEventEventEnum: TypeAlias = Literal['cart_tryon.cancelled']


CartTryonCompletedEventEventEnum: TypeAlias = Literal['cart_tryon.completed']


CartTryonFailedEventEventEnum: TypeAlias = Literal['cart_tryon.failed']


CartTryonPartialEventEventEnum: TypeAlias = Literal['cart_tryon.partial']


CategoryEnum: TypeAlias = Literal['tops', 'bottoms', 'dresses', 'outerwear', 'one-pieces']


class ChangelogChange(TypedDict):
    description: str
    operation: NotRequired[str]
    event: NotRequired[str]


class ChangelogVersion(TypedDict):
    version: str
    summary: str
    changes: list[ChangelogChange]


ControlSupportEnum: TypeAlias = Literal['native', 'emulated', 'ignored']


class ControlsCapability(TypedDict):
    garmentPhotoTypes: list[str]
    maxSamples: int
    outputFormats: list[str]


class CreditLedgerEntry(TypedDict):
    id: int
    type: str
    amount: float
    balanceAfter: float
    reference: NotRequired[str]
    description: NotRequired[str]
    actor: str | None
    createdAt: str


class CreditTopUpRequest(TypedDict):
    amount: float
    description: NotRequired[str]


class CreditsAddedEventData(TypedDict):
    organizationId: str
    amount: float
    balance: float
    description: str


CreditsAddedEventEventEnum: TypeAlias = Literal['credits.added']


class CreditsLowEventData(TypedDict):
    organizationId: str
    balance: float
    threshold: float
    reference: str


CreditsLowEventEventEnum: TypeAlias = Literal['credits.low']


class Customer(TypedDict):
    id: str
    externalId: str
    email: str | None
    name: str
    photoUrl: str | None
    metadata: dict[str, Any]
    createdAt: str
    updatedAt: str


class CustomerImportError(TypedDict):
    row: int
    field: str | None
    message: str


class CustomerUpsertRequest(TypedDict):
    externalId: str
    email: NotRequired[str]
    name: NotRequired[str]
    metadata: NotRequired[dict[str, Any]]


CustomersImportedEventEventEnum: TypeAlias = Literal['customers.imported']


EngineNoteCodeEnum: TypeAlias = Literal['garment_photo_type_ignored', 'seed_ignored']


class Error1(TypedDict):
    error: str
    message: str
    code: int
    details: dict[str, Any]
    requestId: NotRequired[str]


class EventType(TypedDict):
    event: str
    description: str
    subscribable: bool
    schema: dict[str, Any]
    example: dict[str, Any]


EventsEnum: TypeAlias = Literal['cart_tryon.completed', 'cart_tryon.partial', 'cart_tryon.failed', 'cart_tryon.cancelled', 'tryon.completed', 'tryon.failed', 'garment.ready', 'garment.failed', 'garments.imported', 'customers.imported', 'credits.low', 'credits.added', 'webhook_endpoint.disabled']


class ExportFilters(TypedDict):
    createdAfter: NotRequired[str]
    createdBefore: NotRequired[str]
    updatedAfter: NotRequired[str]


class ExportFiltersRequest(TypedDict):
    createdAfter: NotRequired[str]
    createdBefore: NotRequired[str]
    updatedAfter: NotRequired[str]


FormatEnum: TypeAlias = Literal['csv', 'jsonl', 'xlsx']


class Error2(TypedDict):
    code: str
    message: str


GarmentFailedEventEventEnum: TypeAlias = Literal['garment.failed']


GarmentPhotoTypeEnum: TypeAlias = Literal['auto', 'flat-lay', 'model']


GarmentReadyEventEventEnum: TypeAlias = Literal['garment.ready']


GarmentStatusEnum: TypeAlias = Literal['pending', 'ready', 'failed']


class GarmentUpsertRequest(TypedDict):
    productId: str
    variantId: NotRequired[str]
    imageUrl: str
    category: CategoryEnum
    name: NotRequired[str]
    garmentPhotoType: NotRequired[GarmentPhotoTypeEnum]
    metadata: NotRequired[dict[str, Any]]


GarmentsImportedEventEventEnum: TypeAlias = Literal['garments.imported']


GranularityEnum: TypeAlias = Literal['hour', 'day']


class ImportCreateRequest(TypedDict):
    file: NotRequired[bytes]
    url: NotRequired[str]
    format: NotRequired[FormatEnum]


class InvitationAcceptRequest(TypedDict):
    password: NotRequired[str]


class InvitationCreateRequest(TypedDict):
    email: str
    role: AssignableRoleEnum


class LookCapability(TypedDict):
    maxLooks: int
    minItems: int
    maxItems: int
    zones: dict[str, list[str]]


class LookGarment(TypedDict):
    productId: str
    variantId: str | None


LookResultStatusEnum: TypeAlias = Literal['queued', 'processing', 'completed', 'failed', 'cancelled']


class MemberAddRequest(TypedDict):
    email: str
    role: AssignableRoleEnum


class MemberEvent(TypedDict):
    id: int
    action: ActionEnum
    actor: str | None
    subject: str
    roleBefore: str
    roleAfter: str
    createdAt: str


MemberRoleEnum: TypeAlias = Literal['owner', 'admin', 'developer', 'billing', 'viewer']


NullEnum: TypeAlias = None


class OperationWindow(TypedDict):
    limit: int
    remaining: int
    resetAt: int
    operation: str


OrganizationStatusEnum: TypeAlias = Literal['active', 'suspended']


OutputFormatEnum: TypeAlias = Literal['jpeg', 'png', 'webp']


class PaginatedApiKeyEventList(TypedDict):
    data: list[ApiKeyEvent]
    total: int
    totalIsEstimate: bool
    limit: int
    offset: int | None
    hasMore: bool


class PaginatedCreditLedgerEntryList(TypedDict):
    data: list[CreditLedgerEntry]
    total: int
    totalIsEstimate: bool
    limit: int
    offset: int | None
    hasMore: bool


class PaginatedCustomerImportErrorList(TypedDict):
    data: list[CustomerImportError]
    total: int
    totalIsEstimate: bool
    limit: int
    offset: int | None
    hasMore: bool


class PaginatedCustomerList(TypedDict):
    data: list[Customer]
    total: int
    totalIsEstimate: bool
    limit: int
    offset: int | None
    hasMore: bool


class PaginatedMemberEventList(TypedDict):
    data: list[MemberEvent]
    total: int
    totalIsEstimate: bool
    limit: int
    offset: int | None
    hasMore: bool


class PatchedMemberRoleRequest(TypedDict):
    role: NotRequired[MemberRoleEnum]


class Photo(TypedDict):
    id: str
    photoUrl: str
    photoS3Key: str
    uploadedAt: str
    width: int
    height: int
    contentType: str
    sizeBytes: int
    metadata: dict[str, Any]


class PhotoUploadRequest(TypedDict):
    photo: bytes
    metadata: NotRequired[str]


class Pricing(TypedDict):
    itemRenders: int
    lookRenders: int
    perRender: float
    discount: float


RenderQualityEnum: TypeAlias = Literal['sd', 'hd', '4k']


class RequestLogEntry(TypedDict):
    id: str
    requestId: str
    keyId: str
    method: str
    route: str
    statusCode: int
    errorCode: str | None
    durationMs: int
    clientAddress: str | None
    createdAt: str


class RetryPolicyRead(TypedDict):
    maxRetries: int
    schedule: list[int]
    inherited: bool


ScheduleItem: TypeAlias = int


class RetryPolicyRequest(TypedDict):
    maxRetries: int
    schedule: NotRequired[list[ScheduleItem]]


class SampleResult(TypedDict):
    url: str
    seed: int | None
    format: OutputFormatEnum
    width: int | None
    height: int | None
    reused: bool


SandboxResetResponseModeEnum: TypeAlias = Literal['test']


class ScopeOperation(TypedDict):
    method: str
    path: str
    operationId: str | None
    summary: str


ScopesEnum: TypeAlias = Literal['account:read', 'all', 'customers:create', 'customers:read', 'garments:read', 'garments:write', 'photos:read', 'photos:upload', 'tryon:create', 'tryon:read', 'usage:read', 'webhooks:manage']


ServiceStatusStatusEnum: TypeAlias = Literal['operational', 'degraded', 'down']


SignupAcceptedStatusEnum: TypeAlias = Literal['verification_sent']


class SignupCreated(TypedDict):
    userId: int
    username: str
    email: str
    organizationId: str
    organizationName: str
    credits: float


class SignupRequest(TypedDict):
    email: NotRequired[str]
    token: NotRequired[str]
    password: str
    organizationName: str


class SignupVerifyRequest(TypedDict):
    token: str


StateEnum: TypeAlias = Literal['up', 'degraded', 'down']


class TokenObtainPair(TypedDict):
    access: str
    refresh: str


class TokenObtainPairRequest(TypedDict):
    username: str
    password: str


class TopUpResponse(TypedDict):
    organizationId: str
    credits: float
    entry: CreditLedgerEntry


class TryOnCreateRequest(TypedDict):
    productId: str
    variantId: NotRequired[str | str | None]
    name: NotRequired[str]
    imageUrl: str
    category: CategoryEnum
    customerPhotoS3Key: str
    renderQuality: NotRequired[RenderQualityEnum]
    backgroundScene: NotRequired[BackgroundSceneEnum | BlankEnum]
    metadata: NotRequired[dict[str, Any]]


TryOnStatusEnum: TypeAlias = Literal['queued', 'processing', 'completed', 'failed', 'cancelled', 'skipped']


TryonCompletedEventEventEnum: TypeAlias = Literal['tryon.completed']


TryonFailedEventEventEnum: TypeAlias = Literal['tryon.failed']


class UsageDay(TypedDict):
    date: str
    requests: int
    errors: int


class UsageEndpoint(TypedDict):
    method: str
    route: str
    requests: int
    errors: int
    averageDurationMs: float


UsageStatusClass = TypedDict(
    'UsageStatusClass',
    {
        '2xx': int,
        '3xx': int,
        '4xx': int,
        '5xx': int,
    },
)


class UsageTotals(TypedDict):
    requests: int
    errors: int
    averageDurationMs: float


class Webhook(TypedDict):
    id: str
    url: str
    events: list[EventsEnum]
    description: NotRequired[str]
    retryPolicy: RetryPolicyRead
    metadata: dict[str, Any]
    headers: dict[str, Literal['********']]
    isActive: bool
    consecutiveFailures: int
    disabledAt: str | None
    disabledReason: str
    previousSecretExpiresAt: str | None
    createdAt: str
    updatedAt: str


class WebhookAttempt(TypedDict):
    number: int
    attemptedAt: str
    succeeded: NotRequired[bool]
    statusCode: int | None
    durationMs: int
    responseBody: str
    error: NotRequired[str]


class WebhookCreateRequest(TypedDict):
    url: str
    events: list[EventsEnum]
    description: NotRequired[str]
    retryPolicy: NotRequired[RetryPolicyRequest | None]
    metadata: NotRequired[dict[str, Any]]
    headers: NotRequired[dict[str, str | None]]


class WebhookCreated(TypedDict):
    id: str
    url: str
    events: list[EventsEnum]
    secret: str
    description: NotRequired[str]
    retryPolicy: RetryPolicyRead
    metadata: dict[str, Any]
    headers: dict[str, Literal['********']]
    isActive: bool
    consecutiveFailures: int
    disabledAt: str | None
    disabledReason: str
    previousSecretExpiresAt: str | None
    createdAt: str
    updatedAt: str


WebhookDeliveryEventEnum: TypeAlias = Literal['cart_tryon.completed', 'cart_tryon.partial', 'cart_tryon.failed', 'cart_tryon.cancelled', 'tryon.completed', 'tryon.failed', 'garment.ready', 'garment.failed', 'garments.imported', 'customers.imported', 'credits.low', 'credits.added', 'webhook_endpoint.disabled', 'webhook.test']


WebhookDeliveryStatusEnum: TypeAlias = Literal['pending', 'succeeded', 'failed']


class WebhookEndpointDisabledEventData(TypedDict):
    webhookId: str
    url: str
    organizationId: str
    reason: str
    consecutiveFailures: int
    disabledAt: str


WebhookEndpointDisabledEventEventEnum: TypeAlias = Literal['webhook_endpoint.disabled']


class WebhookRecoverRequest(TypedDict):
    since: str


class WebhookRecoverResult(TypedDict):
    recovered: int
    deliveryIds: list[str]


class WebhookRotated(TypedDict):
    id: str
    secret: str
    previousSecretExpiresAt: str | None


class WebhookTestEventData(TypedDict):
    webhookId: str
    organizationId: str
    message: str


WebhookTestEventEventEnum: TypeAlias = Literal['webhook.test']


class WebhookTestResult(TypedDict):
    delivered: bool
    statusCode: int | None
    durationMs: int
    error: str | None
    deliveryId: str
    eventId: str


WindowEnum: TypeAlias = Literal['minute', 'hour', 'day', 'month']


class FieldExportCounts(TypedDict):
    total: int | None
    processed: int


class FieldImportCounts(TypedDict):
    total: int | None
    processed: int
    created: int
    updated: int
    unchanged: int
    failed: int


class FieldJobError(TypedDict):
    code: str
    message: str


class FieldKey(TypedDict):
    keyId: str
    requests: int
    errors: int


class FieldPoint(TypedDict):
    requests: int
    errors: int
    averageDurationMs: float
    creditsCharged: float
    creditsRefunded: float
    start: str


class FieldRefreshRequest(TypedDict):
    refresh: str


class FieldRefreshed(TypedDict):
    access: str
    refresh: NotRequired[str]


class FieldRoute(TypedDict):
    method: str
    route: str
    requests: int
    errors: int
    averageDurationMs: float


FieldStatusClasses = TypedDict(
    'FieldStatusClasses',
    {
        '2xx': int,
        '3xx': int,
        '4xx': int,
        '5xx': int,
    },
)


class FieldTotals(TypedDict):
    requests: int
    errors: int
    averageDurationMs: float
    creditsCharged: float
    creditsRefunded: float


ApiKeyModeEnum: TypeAlias = Literal['live', 'test']


ApiKeyStatusEnum: TypeAlias = Literal['active', 'revoked', 'expired']


BulkJobStatusEnum: TypeAlias = Literal['queued', 'processing', 'completed', 'failed']


class AccountApiKey(TypedDict):
    id: str
    keyPrefix: str
    mode: ApiKeyModeEnum
    scopes: list[str]
    rateLimit: int
    rateLimitPerHour: int
    rateLimitPerDay: int
    monthlyQuota: int | None
    monthlyQuotaRemaining: int | None
    endpointLimits: dict[str, int]
    window: WindowEnum
    remaining: int
    resetAt: int
    expiresAt: str | None


class ApiKey(TypedDict):
    id: str
    name: str
    mode: ApiKeyModeEnum
    keyPrefix: str
    scopes: NotRequired[Any]
    rateLimit: int
    rateLimitPerHour: int
    rateLimitPerDay: int
    monthlyQuota: int | None
    endpointLimits: dict[str, int]
    status: ApiKeyStatusEnum
    replacedBy: str | None
    expiresAt: str | None
    createdAt: str
    lastUsedAt: str | None
    usageCount: int
    revokedAt: str | None


class ApiKeyCreateRequest(TypedDict):
    name: str
    scopes: list[ScopesEnum]
    rateLimit: NotRequired[int | None]
    rateLimitPerHour: NotRequired[int | None]
    rateLimitPerDay: NotRequired[int | None]
    monthlyQuota: NotRequired[int | None]
    expiresAt: NotRequired[str | None]
    mode: NotRequired[ApiKeyModeEnum]
    endpointLimits: NotRequired[dict[str, int]]


class ApiKeyCreated(TypedDict):
    id: str
    name: str
    key: str
    mode: ApiKeyModeEnum
    keyPrefix: str
    scopes: NotRequired[Any]
    rateLimit: int
    rateLimitPerHour: int
    rateLimitPerDay: int
    monthlyQuota: int | None
    endpointLimits: dict[str, int]
    status: ApiKeyStatusEnum
    replacedBy: str | None
    expiresAt: str | None
    createdAt: str
    lastUsedAt: str | None
    usageCount: int
    revokedAt: str | None


ApiKeyUsage = TypedDict(
    'ApiKeyUsage',
    {
        'keyId': str,
        'days': int,
        'to': str,
        'totals': UsageTotals,
        'byDay': list[UsageDay],
        'byEndpoint': list[UsageEndpoint],
        'byStatusClass': UsageStatusClass,
        'from': str,
    },
)


class CartItemRequest1(TypedDict):
    garmentPhotoType: NotRequired[GarmentPhotoTypeEnum]
    numSamples: NotRequired[int]
    seed: NotRequired[int]
    outputFormat: NotRequired[OutputFormatEnum]
    reuse: NotRequired[bool]
    productId: str
    variantId: NotRequired[str | str | None]
    name: NotRequired[str]
    imageUrl: str
    category: CategoryEnum
    garmentId: NotRequired[str]
    quantity: NotRequired[int]
    price: NotRequired[float | None]
    currency: NotRequired[str]


class CartItemRequest2(TypedDict):
    garmentPhotoType: NotRequired[GarmentPhotoTypeEnum]
    numSamples: NotRequired[int]
    seed: NotRequired[int]
    outputFormat: NotRequired[OutputFormatEnum]
    reuse: NotRequired[bool]
    productId: str
    variantId: NotRequired[str | str | None]
    name: NotRequired[str]
    imageUrl: NotRequired[str]
    category: NotRequired[CategoryEnum]
    garmentId: str
    quantity: NotRequired[int]
    price: NotRequired[float | None]
    currency: NotRequired[str]


CartItemRequest: TypeAlias = CartItemRequest1 | CartItemRequest2


class CartTryOnCreateRequest(TypedDict):
    garmentPhotoType: NotRequired[GarmentPhotoTypeEnum]
    numSamples: NotRequired[int]
    seed: NotRequired[int]
    outputFormat: NotRequired[OutputFormatEnum]
    reuse: NotRequired[bool]
    cartId: str
    customerPhotoS3Key: str
    cartItems: list[CartItemRequest]
    renderQuality: NotRequired[RenderQualityEnum]
    backgroundScene: NotRequired[BackgroundSceneEnum | BlankEnum]
    metadata: NotRequired[dict[str, Any]]
    looks: NotRequired[Literal['auto'] | list[Look]]
    renderItems: NotRequired[bool]


class Changelog(TypedDict):
    header: str
    latest: str
    versions: list[ChangelogVersion]


class ControlSupport(TypedDict):
    garmentPhotoType: ControlSupportEnum
    seed: ControlSupportEnum
    numSamples: ControlSupportEnum
    outputFormat: dict[str, Literal['native', 'converted']]


class CreditsAddedEvent(TypedDict):
    id: str
    event: CreditsAddedEventEventEnum
    timestamp: str
    data: CreditsAddedEventData


class CreditsLowEvent(TypedDict):
    id: str
    event: CreditsLowEventEventEnum
    timestamp: str
    data: CreditsLowEventData


class CustomerExport(TypedDict):
    id: str
    status: BulkJobStatusEnum
    format: FormatEnum
    filters: ExportFilters
    progress: int
    counts: FieldExportCounts
    fileUrl: str | None
    fileUrlExpiresAt: str | None
    fileExpiresAt: str | None
    error: FieldJobError | None
    createdAt: str
    startedAt: str | None
    completedAt: str | None


class CustomerImport(TypedDict):
    id: str
    status: BulkJobStatusEnum
    format: FormatEnum
    fileName: str | None
    sourceUrl: str | None
    progress: int
    counts: FieldImportCounts
    ignoredColumns: list[str]
    error: FieldJobError | None
    createdAt: str
    startedAt: str | None
    completedAt: str | None


class CustomersImportedEvent(TypedDict):
    id: str
    event: CustomersImportedEventEventEnum
    timestamp: str
    data: CustomerImport


class EngineNote(TypedDict):
    code: EngineNoteCodeEnum
    message: str


class EngineState(TypedDict):
    name: str
    qualities: list[RenderQualityEnum]
    fallback: bool
    state: StateEnum
    circuitOpenUntil: str | None


class EventCatalogue(TypedDict):
    events: list[EventType]


class ExportCreateRequest(TypedDict):
    format: FormatEnum
    filters: NotRequired[ExportFiltersRequest]


class Garment(TypedDict):
    id: str
    productId: str
    variantId: str | None
    name: str
    imageUrl: str
    category: str
    garmentPhotoType: GarmentPhotoTypeEnum
    status: GarmentStatusEnum
    error: Error2 | None
    width: int | None
    height: int | None
    metadata: Any
    fetchedAt: str | None
    createdAt: str
    updatedAt: str


class GarmentFailedEvent(TypedDict):
    id: str
    event: GarmentFailedEventEventEnum
    timestamp: str
    data: Garment


class GarmentReadyEvent(TypedDict):
    id: str
    event: GarmentReadyEventEventEnum
    timestamp: str
    data: Garment


class GarmentsImportedEvent(TypedDict):
    id: str
    event: GarmentsImportedEventEventEnum
    timestamp: str
    data: CustomerImport


class Invitation(TypedDict):
    id: str
    email: str
    role: MemberRoleEnum
    status: str
    invitedBy: str | None
    createdAt: str
    expiresAt: str
    acceptedAt: str | None


class InvitationAccepted(TypedDict):
    userId: int
    email: str
    username: str
    role: MemberRoleEnum
    joinedAt: str
    organizationId: str


class KeyWindow(TypedDict):
    limit: int
    remaining: int
    resetAt: int
    window: WindowEnum


class LookResult(TypedDict):
    lookId: str
    items: list[LookGarment]
    status: LookResultStatusEnum
    resultUrl: str | None
    creditsCharged: float
    creditsRefunded: float
    error: Any | None


class Member(TypedDict):
    userId: int
    email: str
    username: str
    role: MemberRoleEnum
    joinedAt: str


class OrganizationSettings(TypedDict):
    webhookRetries: NotRequired[int]
    defaultRenderQuality: NotRequired[RenderQualityEnum]
    lowBalanceThreshold: NotRequired[float]
    reusedRenderPrice: NotRequired[float]


class OrganizationSettingsRequest(TypedDict):
    webhookRetries: NotRequired[int]
    defaultRenderQuality: NotRequired[RenderQualityEnum]
    lowBalanceThreshold: NotRequired[float]
    reusedRenderPrice: NotRequired[float]


class PaginatedApiKeyList(TypedDict):
    data: list[ApiKey]
    total: int
    totalIsEstimate: bool
    limit: int
    offset: int | None
    hasMore: bool


class PaginatedCustomerExportList(TypedDict):
    data: list[CustomerExport]
    total: int
    totalIsEstimate: bool
    limit: int
    offset: int | None
    hasMore: bool


class PaginatedCustomerImportList(TypedDict):
    data: list[CustomerImport]
    total: int
    totalIsEstimate: bool
    limit: int
    offset: int | None
    hasMore: bool


class PaginatedGarmentList(TypedDict):
    data: list[Garment]
    total: int
    totalIsEstimate: bool
    limit: int
    offset: int | None
    hasMore: bool


class PaginatedInvitationList(TypedDict):
    data: list[Invitation]
    total: int
    totalIsEstimate: bool
    limit: int
    offset: int | None
    hasMore: bool


class PaginatedMemberList(TypedDict):
    data: list[Member]
    total: int
    totalIsEstimate: bool
    limit: int
    offset: int | None
    hasMore: bool


class PaginatedPhotoList(TypedDict):
    data: list[Photo]
    total: int
    totalIsEstimate: bool
    limit: int
    offset: int | None
    hasMore: bool


class PaginatedRequestLogEntryList(TypedDict):
    data: list[RequestLogEntry]
    total: int
    totalIsEstimate: bool
    limit: int
    offset: int | None
    hasMore: bool


class PaginatedWebhookList(TypedDict):
    data: list[Webhook]
    total: int
    totalIsEstimate: bool
    limit: int
    offset: int | None
    hasMore: bool


class PatchedApiKeyUpdateRequest(TypedDict):
    name: NotRequired[str]
    scopes: NotRequired[list[ScopesEnum]]
    rateLimit: NotRequired[int | None]
    rateLimitPerHour: NotRequired[int | None]
    rateLimitPerDay: NotRequired[int | None]
    monthlyQuota: NotRequired[int | None]
    expiresAt: NotRequired[str | None]
    endpointLimits: NotRequired[dict[str, int]]


class PatchedOrganizationRequest(TypedDict):
    name: NotRequired[str]
    domain: NotRequired[str]
    billingEmail: NotRequired[str]
    settings: NotRequired[OrganizationSettingsRequest]
    apiVersion: NotRequired[ApiVersionEnum]


class PatchedWebhookUpdateRequest(TypedDict):
    url: NotRequired[str]
    events: NotRequired[list[EventsEnum]]
    description: NotRequired[str]
    retryPolicy: NotRequired[RetryPolicyRequest | None]
    metadata: NotRequired[dict[str, Any]]
    headers: NotRequired[dict[str, str | None]]
    isActive: NotRequired[bool]


class QualityCapability(TypedDict):
    name: str
    credits: float
    width: int
    height: int
    renderer: str
    placesScenes: bool
    controls: ControlSupport


class RateLimitStatus(TypedDict):
    keyId: str
    keyPrefix: str
    tightest: str
    windows: list[KeyWindow]
    operations: list[OperationWindow]


class RenderCapabilities(TypedDict):
    qualities: list[QualityCapability]
    backgroundScenes: list[str]
    controls: ControlsCapability
    looks: LookCapability


class SandboxResetResponse(TypedDict):
    organizationId: str
    mode: SandboxResetResponseModeEnum
    credits: float
    entry: CreditLedgerEntry | None


class Scope(TypedDict):
    scope: str
    description: str
    operations: list[ScopeOperation]


class ScopeCatalogue(TypedDict):
    scopes: list[Scope]


class ServiceStatus(TypedDict):
    status: ServiceStatusStatusEnum
    checkedAt: str
    components: dict[str, Literal['up', 'down']]
    engines: list[EngineState]


class SignupAccepted(TypedDict):
    email: str
    status: SignupAcceptedStatusEnum
    message: str


class TryOn(TypedDict):
    id: str
    sessionId: str | None
    externalId: str | None
    status: TryOnStatusEnum
    customerPhotoS3Key: str
    productId: str
    variantId: str | None
    name: str
    imageUrl: str
    category: str
    renderQuality: str
    backgroundScene: str
    resultUrl: str | None
    error: Error2 | None
    engine: str | None
    renderMs: int | None
    backgroundSceneApplied: BackgroundSceneEnum | NullEnum | None
    creditsCharged: float
    creditsRefunded: float
    estimatedCompletionTime: str | None
    metadata: Any
    createdAt: str
    completedAt: str | None
    reused: bool


class TryOnEventData(TypedDict):
    tryonId: str
    organizationId: str
    sessionId: str | None
    externalId: str | None
    status: TryOnStatusEnum
    customerPhotoS3Key: str
    productId: str
    variantId: str | None
    name: str
    imageUrl: str
    category: str
    renderQuality: str
    backgroundScene: str
    resultUrl: str | None
    error: Error2 | None
    engine: str | None
    renderMs: int | None
    backgroundSceneApplied: BackgroundSceneEnum | NullEnum | None
    creditsCharged: float
    creditsRefunded: float
    estimatedCompletionTime: str | None
    metadata: Any
    createdAt: str
    completedAt: str | None
    reused: bool


class TryonCompletedEvent(TypedDict):
    id: str
    event: TryonCompletedEventEventEnum
    timestamp: str
    data: TryOnEventData


class TryonFailedEvent(TypedDict):
    id: str
    event: TryonFailedEventEventEnum
    timestamp: str
    data: TryOnEventData


Usage = TypedDict(
    'Usage',
    {
        'organizationId': str,
        'keyId': str | None,
        'granularity': GranularityEnum,
        'to': str,
        'totals': FieldTotals,
        'series': list[FieldPoint],
        'byRoute': list[FieldRoute],
        'byStatusClass': FieldStatusClasses,
        'byKey': list[FieldKey],
        'from': str,
    },
)


class WebhookDelivery(TypedDict):
    id: str
    webhookId: str
    eventId: str
    event: WebhookDeliveryEventEnum
    status: NotRequired[WebhookDeliveryStatusEnum]
    attemptCount: int
    nextAttemptAt: str | None
    lastStatusCode: int | None
    lastError: str
    deliveredAt: str | None
    createdAt: str
    attempts: list[WebhookAttempt]


class WebhookDeliveryPage(TypedDict):
    data: list[WebhookDelivery]
    total: int
    limit: int
    offset: int
    hasMore: bool


class WebhookEndpointDisabledEvent(TypedDict):
    id: str
    event: WebhookEndpointDisabledEventEventEnum
    timestamp: str
    data: WebhookEndpointDisabledEventData


class WebhookTestEvent(TypedDict):
    id: str
    event: WebhookTestEventEventEnum
    timestamp: str
    data: WebhookTestEventData


class Account(TypedDict):
    organizationId: str
    name: str
    status: AccountStatusEnum
    livemode: bool
    apiVersion: str
    credits: float
    apiKey: AccountApiKey
    renderCapabilities: RenderCapabilities


class CartItemResult(TypedDict):
    tryonId: str
    productId: str
    variantId: str | None
    name: str
    imageUrl: str
    category: str
    quantity: int
    status: TryOnStatusEnum
    resultUrl: str | None
    error: Error | None
    engine: str | None
    renderMs: int | None
    backgroundSceneApplied: BackgroundSceneEnum | NullEnum | None
    creditsCharged: float
    creditsRefunded: float
    completedAt: str | None
    garmentPhotoType: GarmentPhotoTypeEnum
    numSamples: int
    seed: int | None
    outputFormat: OutputFormatEnum | NullEnum | None
    results: list[SampleResult]
    engineNotes: list[EngineNote]
    reused: bool


class CartTryOnCancelledEventData(TypedDict):
    sessionId: str
    cartId: str
    organizationId: str
    externalId: str | None
    status: CartTryOnSessionStatusEnum
    itemCount: int
    successCount: int
    failureCount: int
    creditsCharged: float
    creditsRefunded: float
    metadata: Any
    results: list[CartItemResult]
    looks: list[LookResult]
    completedAt: str | None
    cancelledAt: str | None
    cancellation: Cancellation


class CartTryOnEventData(TypedDict):
    sessionId: str
    cartId: str
    organizationId: str
    externalId: str | None
    status: CartTryOnSessionStatusEnum
    itemCount: int
    successCount: int
    failureCount: int
    creditsCharged: float
    creditsRefunded: float
    metadata: Any
    results: list[CartItemResult]
    looks: list[LookResult]
    completedAt: str | None
    cancelledAt: str | None


class CartTryOnSession(TypedDict):
    id: str
    cartId: str
    externalId: str | None
    status: CartTryOnSessionStatusEnum
    progress: int
    customerPhotoS3Key: str
    renderQuality: str
    backgroundScene: str
    itemCount: int
    creditsRequired: float
    creditsCharged: float
    creditsRefunded: float
    estimatedCompletionTime: str | None
    cartItems: list[CartItemResult]
    renderItems: bool
    looks: list[LookResult]
    pricing: Pricing
    metadata: Any
    createdAt: str
    startedAt: str | None
    completedAt: str | None
    cancelledAt: str | None


class CartTryonCancelledEvent(TypedDict):
    id: str
    event: CartTryonCancelledEventEventEnum
    timestamp: str
    data: CartTryOnCancelledEventData


class CartTryonCompletedEvent(TypedDict):
    id: str
    event: CartTryonCompletedEventEventEnum
    timestamp: str
    data: CartTryOnEventData


class CartTryonFailedEvent(TypedDict):
    id: str
    event: CartTryonFailedEventEventEnum
    timestamp: str
    data: CartTryOnEventData


class CartTryonPartialEvent(TypedDict):
    id: str
    event: CartTryonPartialEventEventEnum
    timestamp: str
    data: CartTryOnEventData


class Organization(TypedDict):
    id: str
    name: str
    domain: NotRequired[str]
    billingEmail: NotRequired[str]
    settings: NotRequired[OrganizationSettings]
    apiVersion: NotRequired[ApiVersionEnum]
    credits: float
    status: OrganizationStatusEnum
    createdAt: str
    updatedAt: str


class OrganizationRequest(TypedDict):
    name: str
    domain: NotRequired[str]
    billingEmail: NotRequired[str]
    settings: NotRequired[OrganizationSettingsRequest]
    apiVersion: NotRequired[ApiVersionEnum]


class PaginatedCartTryOnSessionList(TypedDict):
    data: list[CartTryOnSession]
    total: int
    totalIsEstimate: bool
    limit: int
    offset: int | None
    hasMore: bool


class PaginatedTryOnList(TypedDict):
    data: list[TryOn]
    total: int
    totalIsEstimate: bool
    limit: int
    offset: int | None
    hasMore: bool
