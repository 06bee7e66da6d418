using Avtomat.Ec2.Emulator.Http;
using Avtomat.Ec2.Emulator.Model;

namespace Avtomat.Ec2.Emulator.Actions;

/// <summary>Snapshot sharing: ModifySnapshotAttribute, DescribeSnapshotAttribute and ResetSnapshotAttribute on the
/// createVolumePermission of the caller's own snapshots (account ids, and the group <c>all</c>: public).
/// Who then sees a shared snapshot is <see cref="SnapshotRecord.CanBeSeenBy"/> (DescribeSnapshots, CopySnapshot).
/// Not modelled: productCodes (always empty), block public access for snapshots.</summary>
internal static class SnapshotAttributeActions
{
    public const string CreateVolumePermission = "createVolumePermission";
    public const string ProductCodes = "productCodes";
    public const string DefaultKeyShareMessage = "Encrypted snapshots with EBS default key cannot be shared";
    public const string EncryptedPublicMessage = "Encrypted snapshots can't be shared publicly. Specify another snapshot.";

    /// <summary>"You can make up to 500 modifications to a snapshot in a single operation."
    /// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifySnapshotAttribute.html)</summary>
    public const int MaxModifications = 500;

    private sealed record Permission(string? UserId, bool All);

    // ---------------------------------------------------------------- ModifySnapshotAttribute

    /// <summary>ModifySnapshotAttribute (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifySnapshotAttribute.html),
    /// in both of its wire shapes (the SDKs send whichever the caller filled): <c>Attribute=createVolumePermission</c> +
    /// <c>OperationType=add|remove</c> + <c>UserId.N</c>/<c>UserGroup.N</c>, and
    /// <c>CreateVolumePermission.Add.N.UserId|Group</c> / <c>CreateVolumePermission.Remove.N.UserId|Group</c>.</summary>
    public static void ModifySnapshotAttribute(ActionContext c, XmlOut x)
    {
        var r = c.Request;
        var snapshotId = r.Require("SnapshotId");
        SnapshotActions.ValidateSnapshotId(snapshotId);
        // MSA: Attribute "Only volume creation permissions can be modified." Code and wording plausible (unverified).
        var attribute = r.GetNonEmpty("Attribute");
        RequireKnownAttribute(attribute, "Attribute");
        if (attribute == ProductCodes)
            throw Ec2Error.InvalidParameterValue("Only the createVolumePermission attribute can be modified.");

        var add = ReadPermissions(r, "CreateVolumePermission.Add");
        var remove = ReadPermissions(r, "CreateVolumePermission.Remove");
        var userIds = r.GetList("UserId");
        var groups = r.GetList("UserGroup");
        var operation = r.GetNonEmpty("OperationType");
        if (operation is not null && operation is not ("add" or "remove"))
            throw Ec2Error.InvalidValue("OperationType", operation, "Expecting 'add' or 'remove'.");
        if (userIds.Count + groups.Count > 0)
        {
            // UserId.N/UserGroup.N say nothing without an operation: MissingParameter (plausible, unverified).
            var target = operation switch { "add" => add, "remove" => remove, _ => throw Ec2Error.MissingParameter("OperationType") };
            target.AddRange(userIds.Select(u => new Permission(u, false)));
            target.AddRange(groups.Select(g => ParseGroup(g)));
        }
        // Nothing to modify: MissingParameter (plausible, unverified).
        if (add.Count == 0 && remove.Count == 0) throw Ec2Error.MissingParameter("CreateVolumePermission");
        // MSA: "You may add or remove specified AWS account IDs from a snapshot's list of create volume permissions, but
        // you cannot do both in a single operation." Code and wording plausible (unverified).
        if (add.Count > 0 && remove.Count > 0)
            throw Ec2Error.BadRequest("InvalidParameterCombination",
                "You cannot both add and remove create volume permissions in a single operation.");
        var changes = add.Count > 0 ? add : remove;
        // MSA: "You can make up to 500 modifications to a snapshot in a single operation." Code and wording plausible (unverified).
        if (changes.Count > MaxModifications)
            throw Ec2Error.InvalidParameterValue(
                $"You can make up to {MaxModifications} modifications to a snapshot in a single operation ({changes.Count} given).");
        // A user id must be an AWS account id (12 digits). EC2 documents no code for snapshots (for images:
        // InvalidAMIAttributeItemValue, https://docs.aws.amazon.com/ec2/latest/devguide/errors-overview.html);
        // InvalidParameterValue is plausible (unverified).
        foreach (var p in changes)
            if (p.UserId is { } user && !SnapshotActions.IsAccountId(user))
                throw Ec2Error.InvalidValue("userId", user, "Specify an AWS account ID of 12 digits, without hyphens.");

        var snapshot = OwnSnapshot(c, snapshotId);
        if (add.Count > 0 && snapshot.Encrypted)
        {
            // MSA: "Snapshots encrypted with your default KMS key cannot be shared with other accounts." EBS user guide:
            // "You can't share snapshots that are encrypted with the default AWS managed key. You can only share snapshots
            // that are encrypted with a customer managed key."
            // (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-modifying-snapshot-permissions.html)
            // Code and message as EC2 answered them in public reports (hashicorp/packer#7499; DataDog/stratus-red-team
            // matches "operationnotpermitted" + "ebs default key"): observed, not documented.
            if (add.Any(p => p.UserId is not null) && snapshot.KmsKeyId is { } key && KmsKeys.IsAwsManaged(key))
                throw Ec2Error.BadRequest("OperationNotPermitted", DefaultKeyShareMessage);
            // MSA: "Encrypted snapshots and snapshots with AWS Marketplace product codes cannot be made public." EBS user
            // guide: "You can share only unencrypted snapshots publicly." The code and text are EC2's answer for an AMI
            // with encrypted snapshots (ModifyImageAttribute, opendevstack/ods-core#1062): plausible for snapshots (unverified).
            if (add.Any(p => p.All))
                throw Ec2Error.BadRequest("UnsupportedOperation", EncryptedPublicMessage);
        }

        c.StopIfDryRun();

        // Adding a permission that is there, or removing one that is not, changes nothing and is no error (docs silent;
        // plausible, unverified). The owner's own account id is kept like any other (docs silent).
        foreach (var p in changes)
        {
            if (p.All) c.State.SetPublic(snapshot, add.Count > 0);
            else if (add.Count > 0) c.State.Share(snapshot, p.UserId!);
            else c.State.Unshare(snapshot, p.UserId!);
        }
        x.Element("return", true);
    }

    /// <summary><c>prefix.N.UserId</c> / <c>prefix.N.Group</c> (an item may carry both).</summary>
    private static List<Permission> ReadPermissions(Ec2Request r, string prefix)
    {
        var permissions = new List<Permission>();
        foreach (var item in r.GetStructList(prefix))
        {
            var user = item.GetNonEmpty("UserId");
            var group = item.GetNonEmpty("Group");
            // An item with neither: plausible (unverified).
            if (user is null && group is null) throw Ec2Error.MissingParameter($"{prefix}.UserId or {prefix}.Group");
            if (user is not null) permissions.Add(new Permission(user, false));
            if (group is not null) permissions.Add(ParseGroup(group));
        }
        return permissions;
    }

    /// <summary>[CVP] Group: "Valid Values: all" (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVolumePermission.html).
    /// The error for another value is plausible (unverified).</summary>
    private static Permission ParseGroup(string group) =>
        group == "all" ? new Permission(null, true) : throw Ec2Error.InvalidValue("group", group, "Expecting 'all'.");

    // ---------------------------------------------------------------- DescribeSnapshotAttribute

    /// <summary>DescribeSnapshotAttribute (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSnapshotAttribute.html):
    /// <c>Attribute</c> (createVolumePermission | productCodes, "You can specify only one attribute at a time") and
    /// <c>SnapshotId</c>, both required. Answers <c>snapshotId</c> and the attribute: <c>createVolumePermission</c> items
    /// <c>&lt;userId&gt;</c> (in the order added), then <c>&lt;group&gt;all&lt;/group&gt;</c> as the page's sample has it;
    /// <c>productCodes</c> is always empty here.</summary>
    public static void DescribeSnapshotAttribute(ActionContext c, XmlOut x)
    {
        var r = c.Request;
        var attribute = r.Require("Attribute");
        RequireKnownAttribute(attribute, "Attribute");
        var snapshotId = r.Require("SnapshotId");
        SnapshotActions.ValidateSnapshotId(snapshotId);
        var snapshot = OwnSnapshot(c, snapshotId);
        c.StopIfDryRun();

        x.Element("snapshotId", snapshot.Id);
        if (attribute == ProductCodes) { x.Empty("productCodes"); return; }
        if (snapshot.CreateVolumeUserIds is null && !snapshot.CreateVolumePublic) { x.Empty("createVolumePermission"); return; }
        x.Open("createVolumePermission");
        foreach (var user in snapshot.CreateVolumeUserIds ?? []) x.Open("item").Element("userId", user).Close("item");
        if (snapshot.CreateVolumePublic) x.Open("item").Element("group", "all").Close("item");
        x.Close("createVolumePermission");
    }

    // ---------------------------------------------------------------- ResetSnapshotAttribute

    /// <summary>ResetSnapshotAttribute (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ResetSnapshotAttribute.html):
    /// "Resets permission settings for the specified snapshot." "Currently, only the attribute for permission to create
    /// volumes can be reset." The snapshot becomes "a private snapshot that can only be used by the account that created
    /// it" (the page's example). The error for productCodes is plausible (unverified).</summary>
    public static void ResetSnapshotAttribute(ActionContext c, XmlOut x)
    {
        var r = c.Request;
        var attribute = r.Require("Attribute");
        RequireKnownAttribute(attribute, "Attribute");
        if (attribute == ProductCodes)
            throw Ec2Error.InvalidParameterValue("Only the createVolumePermission attribute can be reset.");
        var snapshotId = r.Require("SnapshotId");
        SnapshotActions.ValidateSnapshotId(snapshotId);
        var snapshot = OwnSnapshot(c, snapshotId);
        c.StopIfDryRun();
        c.State.ResetPermissions(snapshot);
        x.Element("return", true);
    }

    // ---------------------------------------------------------------- shared

    /// <summary>SnapshotAttributeName: createVolumePermission | productCodes (the error for others is plausible, unverified).</summary>
    private static void RequireKnownAttribute(string? attribute, string parameter)
    {
        if (attribute is not null and not (CreateVolumePermission or ProductCodes))
            throw Ec2Error.InvalidValue(parameter, attribute, $"Expecting '{CreateVolumePermission}' or '{ProductCodes}'.");
    }

    /// <summary>The caller's own snapshot in the signing region. Only the owner may modify, describe or reset its
    /// attributes; for anyone else, including an account it is shared with, the snapshot is InvalidSnapshot.NotFound
    /// (EC2's documentation does not say: plausible, unverified).</summary>
    private static SnapshotRecord OwnSnapshot(ActionContext c, string snapshotId) =>
        c.Region.Snapshots.TryGetValue(snapshotId, out var snapshot) ? snapshot : throw Ec2Error.SnapshotNotFound(snapshotId);
}
