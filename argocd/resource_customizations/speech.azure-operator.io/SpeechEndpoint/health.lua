-- SpeechEndpoint (azure-speech-operator): a custom speech-to-text endpoint in Azure AI Speech.
-- Its status is kstatus-style: Ready, Reconciling and Stalled conditions and status.observedGeneration;
-- ModelExpired is True once the deployed model has stopped transcribing (ModelExpiring shortly before).
-- Conditions describe a spec only once observedGeneration has caught up with metadata.generation.
-- No standard library is used, so the script also runs from argocd-cm without useOpenLibs.
local hs = { status = "Progressing" }
local status = obj.status
if status == nil or status.conditions == nil or status.observedGeneration == nil then
  hs.message = "Waiting for the operator to report status"
  return hs
end
local generation = obj.metadata.generation
if generation ~= nil and status.observedGeneration < generation then
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end

local conditions = {}
for _, condition in ipairs(status.conditions) do
  conditions[condition.type] = condition
end
local function isTrue(name)
  return conditions[name] ~= nil and conditions[name].status == "True"
end
-- "Reason: message", as `kubectl get` shows them
local function describe(name)
  local condition = conditions[name]
  local text = condition.reason or name
  if condition.message ~= nil and condition.message ~= "" then
    text = text .. ": " .. condition.message
  end
  return text
end

if isTrue("Stalled") then
  hs.status = "Degraded"
  hs.message = describe("Stalled")
elseif isTrue("Reconciling") then
  hs.message = describe("Reconciling")
elseif not isTrue("Ready") then
  hs.message = conditions.Ready ~= nil and describe("Ready") or "Waiting for the Ready condition"
elseif isTrue("ModelExpired") then
  hs.status = "Degraded"
  hs.message = describe("ModelExpired")
else
  hs.status = "Healthy"
  hs.message = isTrue("ModelExpiring") and describe("ModelExpiring") or describe("Ready")
end
return hs
