using Avtomat.Ec2.Emulator.Model;

namespace Avtomat.Ec2.Emulator.Http;

/// <summary>An EC2 error answer: HTTP status, error code and message, rendered in the EC2 error envelope.</summary>
internal sealed class Ec2Error : Exception
{
    public Ec2Error(int status, string code, string message) : base(message)
    {
        Status = status;
        Code = code;
    }

    public int Status { get; }
    public string Code { get; }

    // Factories for the codes used in more than one place, with EC2's wording.
    public static Ec2Error BadRequest(string code, string message) => new(400, code, message);
    public static Ec2Error MissingParameter(string name) => new(400, "MissingParameter", $"The request must contain the parameter {name}");
    public static Ec2Error InvalidParameterValue(string message) => new(400, "InvalidParameterValue", message);
    public static Ec2Error InvalidValue(string name, string? value, string reason) =>
        new(400, "InvalidParameterValue", $"Value ({value}) for parameter {name} is invalid. {reason}");
    public static Ec2Error InvalidFilter(string name) => new(400, "InvalidParameterValue", $"The filter '{name}' is invalid");
    public static Ec2Error SnapshotNotFound(string id) => new(400, "InvalidSnapshot.NotFound", $"The snapshot '{id}' does not exist.");
    public static Ec2Error VolumeNotFound(string id) => new(400, "InvalidVolume.NotFound", $"The volume '{id}' does not exist.");
    public static Ec2Error InstanceNotFound(IReadOnlyList<string> ids) => ids.Count == 1
        ? new(400, "InvalidInstanceID.NotFound", $"The instance ID '{ids[0]}' does not exist")
        : new(400, "InvalidInstanceID.NotFound", $"The instance IDs '{string.Join(", ", ids)}' do not exist");
    public static Ec2Error DryRun() => new(412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.");
    public static Ec2Error RequestLimitExceeded() => new(503, "RequestLimitExceeded", "Request limit exceeded.");
    public static Ec2Error InternalError() => new(500, "InternalError", "An internal error has occurred");
    public static Ec2Error Unavailable() => new(503, "Unavailable", "The service is unavailable. Please try again shortly.");
    public static Ec2Error AuthFailure(string message) => new(401, "AuthFailure", message);
    /// <summary>EC2's answer to a credential fault. Statuses as real EC2 sends them: RequestExpired 400, AuthFailure and
    /// OptInRequired 401, UnauthorizedOperation 403 (whose real message also carries an encoded authorization message).</summary>
    public static Ec2Error For(CredentialFault fault) => fault switch
    {
        CredentialFault.InvalidAccessKey => AuthFailure("AWS was not able to validate the provided access credentials"),
        CredentialFault.ExpiredAccessKey => new(400, "RequestExpired", "Request has expired."),
        CredentialFault.OptInRequired => new(401, "OptInRequired",
            "You are not subscribed to this service. Please go to http://aws.amazon.com to subscribe."),
        CredentialFault.ActionDenied => new(403, "UnauthorizedOperation", "You are not authorized to perform this operation."),
        _ => throw new ArgumentOutOfRangeException(nameof(fault), fault, null),
    };
    public static Ec2Error InvalidPaginationToken(string token) => new(400, "InvalidPaginationToken", $"The token '{token}' is invalid.");
}
